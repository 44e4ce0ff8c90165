-- pgroll-present: run by resolve_schemas() in lib/preflight.sh.
SELECT CASE WHEN to_regclass('pgroll.migrations') IS NULL THEN NULL ELSE 1 END;
