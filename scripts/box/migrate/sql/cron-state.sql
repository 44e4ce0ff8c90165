-- cron-state: run by preflight() in lib/preflight.sh.
SELECT CASE WHEN j.oid IS NULL THEN 'none'
    WHEN has_schema_privilege(j.relnamespace, 'USAGE') AND has_table_privilege(j.oid, 'SELECT') THEN 'readable' ELSE 'hidden' END
  FROM (SELECT 1) one LEFT JOIN (SELECT c.oid, c.relnamespace FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'cron' AND c.relname = 'job') j ON true;
