-- visible-size: run by preflight() in lib/preflight.sh. psql variables: schemas.
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY(:schemas);
