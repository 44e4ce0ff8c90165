-- marker-last-state: run by preflight() in lib/preflight.sh. psql variables: marker_schema.
SELECT state FROM :"marker_schema".status ORDER BY started_at DESC LIMIT 1;
