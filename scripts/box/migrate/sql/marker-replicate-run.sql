-- marker-replicate-run: run by replicate_cutover() in lib/replicate.sh. psql variables: marker_schema.
SELECT run_id FROM :"marker_schema".status WHERE mode = 'replicate' ORDER BY started_at DESC LIMIT 1;
