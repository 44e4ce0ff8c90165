-- source-extensions: run by preflight() in lib/preflight.sh. psql variables: excluded.
SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' AND NOT (e.extname = ANY(:excluded)) AND NOT (n.nspname = ANY(:excluded)) ORDER BY 1;
