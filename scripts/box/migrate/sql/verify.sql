-- verify: run by verify() in lib/verify.sh on the source and the target at once. psql variables: schemas.
-- Per table: count, two sums of 64-bit halves of md5(row text) -> independent of physical order and
-- of any ORDER BY; duplicate rows count (a multiset), geometry is compared through its EWKB text.
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT format($f$SELECT %L, %L, 'T', count(*), coalesce(sum(('x' || left(h, 16))::bit(64)::bigint), 0) || ':' || coalesce(sum(('x' || right(h, 16))::bit(64)::bigint), 0), %s, %s FROM (SELECT md5(ROW(r.*)::text) AS h FROM ONLY %I.%I r) x$f$,
              n.nspname, c.relname,
              (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid),
              (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid),
              n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = ANY(:schemas)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
\gexec
SELECT format($f$SELECT %L, %L, 'S', last_value, is_called FROM %I.%I$f$, n.nspname, c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname = ANY(:schemas)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
\gexec
SELECT 'E', extname, extversion FROM pg_extension ORDER BY 1, 2;
COMMIT;
