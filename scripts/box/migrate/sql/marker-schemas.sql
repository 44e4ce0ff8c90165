-- marker-schemas: run by replicate_cutover() in lib/replicate.sh. psql variables: marker_schema, run_id.
SELECT array_to_string(schemas, E'\n') FROM :"marker_schema".status WHERE run_id = :'run_id';
