-- subscription-count: run by replicate_cutover() in lib/replicate.sh. psql variables: repl_name.
SELECT count(*) FROM pg_subscription WHERE subname = :'repl_name';
