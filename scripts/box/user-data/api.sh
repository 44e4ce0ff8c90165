# --- The api role: a fleet instance of the scaled topology keeps no data. Steps 1-3 are skipped, nothing is
# mounted, PostgreSQL, Redis and the backup and restore-drill timers are masked (never started), and the API
# is pointed at RDS and ElastiCache, whose endpoints and passwords come from SSM (data-config,
# database-app-password, cache-password). The API unit loses its dependencies on the local data services.
if [[ "$ROLE" == api ]]; then
  RESTORE_DRILL_TIMER=zmanim-restore-drill.timer
  # The AMI enables the box's data services; masked, nothing (not even a dependency) can start them here.
  for unit in "$PG_UNIT" "$REDIS_UNIT" "$BACKUP_TIMER" "$RESTORE_DRILL_TIMER"; do
    "$SYSTEMCTL" mask --now "$unit"
  done
  log "api role: $PG_UNIT, $REDIS_UNIT, $BACKUP_TIMER and $RESTORE_DRILL_TIMER are masked; nothing is mounted on $MNT"

  config_json=$(ssm_get config) || die "SSM parameter $ZMANIM_SSM_PREFIX/config is required"
  data_json=$(ssm_get data-config) || die "SSM parameter $ZMANIM_SSM_PREFIX/data-config is required (written by the data stack)"
  db_password=$(ssm_get database-app-password) || die "SSM parameter $ZMANIM_SSM_PREFIX/database-app-password is required"
  cache_password=$(ssm_get cache-password) || die "SSM parameter $ZMANIM_SSM_PREFIX/cache-password is required"
  clerk_key=$(ssm_get clerk-secret-key) || die "SSM parameter $ZMANIM_SSM_PREFIX/clerk-secret-key is required"
  cw_config=$(ssm_get cloudwatch-agent-api) || die "SSM parameter $ZMANIM_SSM_PREFIX/cloudwatch-agent-api is required (written by the app stack)"
  check_generated database-app-password "$db_password"
  check_generated cache-password "$cache_password"
  check_clerk_key "$clerk_key"

  box_env=$(parse_config "$config_json") || die "SSM parameter $ZMANIM_SSM_PREFIX/config is not valid (see the message above)"
  data_env=$(parse_config "$data_json") || die "SSM parameter $ZMANIM_SSM_PREFIX/data-config is not valid (see the message above)"
  cfg() { sed -n "s/^$1=//p" <<<"$box_env"; }
  dcfg() { sed -n "s/^$1=//p" <<<"$data_env"; }
  api_port=$(cfg ZMANIM_API_PORT)
  [[ "$(cfg ZMANIM_ENV)" == "$ZMANIM_ENV" ]] || die "config ZMANIM_ENV='$(cfg ZMANIM_ENV)' does not match this instance's environment '$ZMANIM_ENV'"
  [[ "$api_port" =~ ^[0-9]+$ ]] || die "config ZMANIM_API_PORT='$api_port' is not a port number"
  for key in ZMANIM_DB_HOST ZMANIM_DB_PORT ZMANIM_DB_NAME ZMANIM_DB_USER ZMANIM_CACHE_HOST ZMANIM_CACHE_PORT ZMANIM_CACHE_USER; do
    [[ -n "$(dcfg "$key")" ]] || die "data-config $key is empty or missing; the data stack writes it"
  done
  # RDS enforces TLS (rds.force_ssl); the cache has in-transit encryption (rediss://) unless data-config says not.
  cache_scheme=rediss
  [[ "$(dcfg ZMANIM_CACHE_TLS)" != false ]] || cache_scheme=redis

  write_file "$ETC/zmanim/box.env" root:root 0644 "" <<<"$box_env"
  write_file "$ETC/zmanim/api.env" root:root 0600 "$API_UNIT" <<EOF
ZMANIM_ENV=$ZMANIM_ENV
PORT=$api_port
DATABASE_URL=postgres://$(dcfg ZMANIM_DB_USER):$db_password@$(dcfg ZMANIM_DB_HOST):$(dcfg ZMANIM_DB_PORT)/$(dcfg ZMANIM_DB_NAME)?sslmode=require
REDIS_URL=$cache_scheme://$(dcfg ZMANIM_CACHE_USER):$cache_password@$(dcfg ZMANIM_CACHE_HOST):$(dcfg ZMANIM_CACHE_PORT)/0
CLERK_SECRET_KEY=$clerk_key
EOF
  # The AMI's unit requires PostgreSQL, Redis and the /data mount (the box). A drop-in cannot remove
  # dependencies (systemd.unit(5), "Dependencies (After=, etc.) cannot be reset to an empty list"), so the api
  # role rewrites the unit without its Requires= and ConditionPathIsMountPoint= lines.
  api_unit_file="$ETC/systemd/system/$API_UNIT"
  [[ -f "$api_unit_file" ]] || die "$api_unit_file is missing; the AMI installs it"
  write_file "$api_unit_file" root:root 0644 "$API_UNIT" < <(sed -e '/^Requires=/d' -e '/^ConditionPathIsMountPoint=/d' "$api_unit_file")
  "$SYSTEMCTL" daemon-reload

  load_cloudwatch_agent "$cw_config"
  warn_placeholder_clerk_key "$clerk_key"
  start_unit "$API_UNIT"
  log "done (api role): $API_UNIT started against $(dcfg ZMANIM_DB_HOST) and $(dcfg ZMANIM_CACHE_HOST)"
  exit 0
fi

