-- slot-lag: run by repl_status() in lib/replicate.sh. psql variables: repl_name.
SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = :'repl_name';
