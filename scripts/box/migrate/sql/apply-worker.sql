-- apply-worker: run by repl_status() in lib/replicate.sh. psql variables: repl_name.
SELECT format('   apply worker: received %s, reported %s, last message %s', received_lsn, latest_end_lsn, last_msg_receipt_time) FROM pg_stat_subscription WHERE subname = :'repl_name' AND relid IS NULL;
