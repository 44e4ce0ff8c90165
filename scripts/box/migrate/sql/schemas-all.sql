-- schemas-all: run by resolve_schemas() in lib/preflight.sh. psql variables: marker_schema.
SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' AND nspname <> :'marker_schema' ORDER BY 1;
