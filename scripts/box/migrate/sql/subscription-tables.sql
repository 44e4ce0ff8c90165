-- subscription-tables: run by repl_status() in lib/replicate.sh. psql variables: repl_name.
SELECT format('   table %s.%s: %s', n.nspname, c.relname, CASE r.srsubstate WHEN 'i' THEN 'initialising' WHEN 'd' THEN 'copying data' WHEN 'f' THEN 'finished copy' WHEN 's' THEN 'synchronised' WHEN 'r' THEN 'ready (streaming)' ELSE r.srsubstate::text END)
  FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE s.subname = :'repl_name' ORDER BY 1;
