-- wal-position: run by replicate_cutover() in lib/replicate.sh.
SELECT pg_current_wal_lsn();
