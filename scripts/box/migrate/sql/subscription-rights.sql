-- subscription-rights: run by preflight_subscriber() in lib/preflight.sh. psql variables: target_user.
SELECT (to_regrole('pg_create_subscription') IS NOT NULL AND pg_has_role(current_user, 'pg_create_subscription', 'member'))
    OR (to_regrole('rds_superuser') IS NOT NULL AND pg_has_role(current_user, 'rds_superuser', 'member')),
  pg_has_role(current_user, :'target_user', 'SET');
