-- schemas-extension-owned: run by resolve_schemas() in lib/preflight.sh.
SELECT n.nspname FROM pg_namespace n JOIN pg_depend d ON d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e' ORDER BY 1;
