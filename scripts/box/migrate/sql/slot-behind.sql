-- slot-behind: run by replicate_cutover() in lib/replicate.sh. psql variables: repl_name, want.
SELECT coalesce(pg_wal_lsn_diff(:'want', confirmed_flush_lsn)::bigint, -1) FROM pg_replication_slots WHERE slot_name = :'repl_name';
