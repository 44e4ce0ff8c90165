-- extension-tables: run by preflight() in lib/preflight.sh. psql variables: schemas.
SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(:schemas) ORDER BY 1;
