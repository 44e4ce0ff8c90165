-- replication-settings: run by preflight_replicate() in lib/preflight.sh.
SELECT current_setting('wal_level'), current_setting('max_replication_slots'), (SELECT count(*) FROM pg_replication_slots), current_setting('max_wal_senders'),
  (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user)
  OR (to_regrole('rds_replication') IS NOT NULL AND pg_has_role(current_user, 'rds_replication', 'member'))
  OR (to_regrole('rds_superuser') IS NOT NULL AND pg_has_role(current_user, 'rds_superuser', 'member'));
