-- marker-start: run by write_marker() in lib/dump.sh. psql variables: marker_schema, mode, run_id, schemas, source.
BEGIN;
CREATE SCHEMA IF NOT EXISTS :"marker_schema";
CREATE TABLE IF NOT EXISTS :"marker_schema".status (
    run_id text PRIMARY KEY, state text NOT NULL CHECK (state IN ('incomplete', 'complete')),
    mode text NOT NULL, source text NOT NULL, schemas text[] NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, message text);
COMMENT ON TABLE :"marker_schema".status IS 'migrate-db runs into this database; the latest row must say complete before the API uses it';
INSERT INTO :"marker_schema".status (run_id, state, mode, source, schemas, message)
  VALUES (:'run_id', 'incomplete', :'mode', :'source', :schemas, 'copy in progress');
COMMIT;
