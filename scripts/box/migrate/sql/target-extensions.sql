-- target-extensions: run by preflight() in lib/preflight.sh.
SELECT a.name, coalesce(a.installed_version, ''), a.default_version,
    a.installed_version IS NOT NULL OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
      OR (coalesce(v.trusted, false) AND has_database_privilege(current_database(), 'CREATE'))
      OR (to_regrole('rds_superuser') IS NOT NULL AND pg_has_role(current_user, 'rds_superuser', 'member'))
  FROM pg_available_extensions a LEFT JOIN pg_available_extension_versions v ON v.name = a.name AND v.version = a.default_version
  ORDER BY 1;
