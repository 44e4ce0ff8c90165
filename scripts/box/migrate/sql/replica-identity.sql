-- replica-identity: run by preflight_replicate() in lib/preflight.sh. psql variables: schemas.
SELECT string_agg(format('%I.%I', n.nspname, c.relname), ' ' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname = ANY(:schemas) AND c.relreplident IN ('d','n')
    AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e');
