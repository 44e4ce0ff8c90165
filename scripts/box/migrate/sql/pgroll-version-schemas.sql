-- pgroll-version-schemas: run by resolve_schemas() in lib/preflight.sh.
SELECT DISTINCT m.schema || '_' || m.name FROM pgroll.migrations m JOIN pg_namespace n ON n.nspname = m.schema || '_' || m.name;
