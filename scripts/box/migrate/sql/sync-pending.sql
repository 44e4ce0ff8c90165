-- sync-pending: run by wait_initial_sync() in lib/replicate.sh. psql variables: repl_name.
SELECT count(*) FILTER (WHERE r.srsubstate NOT IN ('r','s')) || '/' || count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = :'repl_name';
