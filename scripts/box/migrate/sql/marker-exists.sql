-- marker-exists: run by preflight() in lib/preflight.sh. psql variables: marker_schema.
SELECT to_regclass(:'marker_schema' || '.status') IS NOT NULL;
