-- excluded-references: run by preflight() in lib/preflight.sh. psql variables: schemas.
WITH refs AS (
    SELECT d.refobjid AS fn,
           CASE d.classid
             WHEN 'pg_attrdef'::regclass THEN (SELECT c.relnamespace FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)
             WHEN 'pg_trigger'::regclass THEN (SELECT c.relnamespace FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = d.objid)
             WHEN 'pg_constraint'::regclass THEN (SELECT c.relnamespace FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE k.oid = d.objid)
             WHEN 'pg_rewrite'::regclass THEN (SELECT c.relnamespace FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
             WHEN 'pg_proc'::regclass THEN (SELECT p.pronamespace FROM pg_proc p WHERE p.oid = d.objid)
             WHEN 'pg_class'::regclass THEN (SELECT c.relnamespace FROM pg_class c WHERE c.oid = d.objid)
           END AS user_ns
    FROM pg_depend d
    WHERE d.refclassid = 'pg_proc'::regclass AND d.deptype = 'n')
  SELECT DISTINCT r.fn::regprocedure::text
  FROM refs r JOIN pg_proc p ON p.oid = r.fn JOIN pg_namespace pn ON pn.oid = p.pronamespace
  JOIN pg_namespace un ON un.oid = r.user_ns
  WHERE un.nspname = ANY(:schemas) AND NOT (pn.nspname = ANY(:schemas)) AND pn.nspname <> 'pg_catalog'
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
  ORDER BY 1;
