-- marker-finish: run by mark_target() in lib/report.sh. psql variables: marker_schema, message, run_id, state.
UPDATE :"marker_schema".status SET state = :'state', message = :'message', finished_at = now() WHERE run_id = :'run_id';
