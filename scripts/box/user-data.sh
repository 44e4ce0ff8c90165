#!/usr/bin/env bash
# Boot script of the Zmanim box and the API fleet (EC2 user data). The compute or app stack inserts the rendered
# values below the first line and keeps the shared part and one role's part (stacks/user-data.ts); everything
# else is installed by the AMI (docs/on-box-layout.md).
#
# Usage: user-data.sh [--help]
#
# What it does, in order, and safely repeatable (a second run changes nothing):
#   1. waits (bounded, logged) for the data volume, found by its volume id = NVMe serial;
#   2. formats it (XFS) ONLY if blkid finds no signature at all; mounts it on /data by UUID (/etc/fstab, nofail);
#   3. creates /data/postgres and /data/redis; initializes the PostgreSQL cluster only when its directory is empty;
#   4. reads SSM /zmanim/<env>/* and writes /etc/zmanim/box.env, /etc/zmanim/api.env, /etc/restic/env and
#      /etc/redis/auth.conf (secrets mode 0600), plus RequiresMountsFor=/data drop-ins for PostgreSQL and Redis;
#   5. loads the CloudWatch agent configuration from SSM;
#   6. starts PostgreSQL, sets the zmanim role's password, then Redis, the API and the backup timer.
# A file whose content changed restarts the service that reads it (rotation: docs/secrets.md).
#
# Rendered values (required):
#   ZMANIM_ENV              environment name, e.g. prod
#   ZMANIM_REGION           AWS region of the SSM parameters
#   ZMANIM_SSM_PREFIX       e.g. /zmanim/prod
#   ZMANIM_DATA_VOLUME_ID   EBS volume id of /data, e.g. vol-0123456789abcdef0 (box role only)
#   ZMANIM_ROLE             box (the default) or api (see "The api role" below)
# Overrides for tests (production defaults): ZMANIM_BY_ID_DIR=/dev/disk/by-id ZMANIM_DATA_MOUNT=/data
#   ZMANIM_FSTAB=/etc/fstab ZMANIM_ETC=/etc ZMANIM_PG_MAJOR=16 ZMANIM_PG_BINDIR ZMANIM_PG_SOCKET_DIR ZMANIM_PG_PORT
#   ZMANIM_SYSTEMCTL ZMANIM_CW_AGENT_CTL ZMANIM_CW_AGENT_CONFIG ZMANIM_VOLUME_WAIT_SECONDS=600
#   ZMANIM_VOLUME_POLL_SECONDS=2 ZMANIM_AWS_ATTEMPTS=30 ZMANIM_AWS_RETRY_SECONDS=5
# Exit: 0 done; 1 a step failed (the message names it); 2 bad usage or missing values.
set -euo pipefail
umask 077

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "user-data: unknown argument '$1'; run with --help" >&2
  exit 2
fi

log() { printf '%s user-data: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ROLE=${ZMANIM_ROLE:-box}
if [[ "$ROLE" != box && "$ROLE" != api ]]; then
  log "ERROR: ZMANIM_ROLE='$ROLE' is not a role; use box or api"
  exit 2
fi
missing=()
required=(ZMANIM_ENV ZMANIM_REGION ZMANIM_SSM_PREFIX)
[[ "$ROLE" == api ]] || required+=(ZMANIM_DATA_VOLUME_ID)
for v in "${required[@]}"; do
  [[ -n "${!v:-}" ]] || missing+=("$v")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "ERROR: missing value(s): ${missing[*]}; the compute or app stack renders them into the header (see --help)"
  exit 2
fi
if [[ "$ROLE" == box && ! "$ZMANIM_DATA_VOLUME_ID" =~ ^vol-[0-9a-f]{8,17}$ ]]; then
  log "ERROR: ZMANIM_DATA_VOLUME_ID='$ZMANIM_DATA_VOLUME_ID' is not an EBS volume id (vol-<hex>)"
  exit 2
fi

BY_ID_DIR=${ZMANIM_BY_ID_DIR:-/dev/disk/by-id}
MNT=${ZMANIM_DATA_MOUNT:-/data}
FSTAB=${ZMANIM_FSTAB:-/etc/fstab}
ETC=${ZMANIM_ETC:-/etc}
PG_MAJOR=${ZMANIM_PG_MAJOR:-16}
PG_BINDIR=${ZMANIM_PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}
PG_SOCKET_DIR=${ZMANIM_PG_SOCKET_DIR:-/var/run/postgresql}
PG_PORT=${ZMANIM_PG_PORT:-5432}
PGDATA_DIR="$MNT/postgres/$PG_MAJOR/main"
SYSTEMCTL=${ZMANIM_SYSTEMCTL:-systemctl}
CW_AGENT_CTL=${ZMANIM_CW_AGENT_CTL:-/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl}
CW_AGENT_CONFIG=${ZMANIM_CW_AGENT_CONFIG:-/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json}
VOLUME_WAIT=${ZMANIM_VOLUME_WAIT_SECONDS:-600}
VOLUME_POLL=${ZMANIM_VOLUME_POLL_SECONDS:-2}
AWS_ATTEMPTS=${ZMANIM_AWS_ATTEMPTS:-30}
AWS_RETRY=${ZMANIM_AWS_RETRY_SECONDS:-5}
PG_UNIT="postgresql@$PG_MAJOR-main.service"
REDIS_UNIT=redis-server.service
API_UNIT=zmanim-api.service
BACKUP_TIMER=zmanim-backup.timer
CW_UNIT=amazon-cloudwatch-agent.service

ssm_get() { # NAME -> value on stdout; bounded retries (the Elastic IP may not be associated yet at boot)
  local name="$ZMANIM_SSM_PREFIX/$1" attempt=1 out err
  err=$(mktemp)
  while true; do
    if out=$(aws --region "$ZMANIM_REGION" ssm get-parameter --name "$name" --with-decryption \
      --query Parameter.Value --output text 2>"$err"); then
      rm -f "$err"
      printf '%s' "$out"
      return 0
    fi
    if (( attempt >= AWS_ATTEMPTS )); then
      log "ERROR: cannot read SSM parameter $name after $attempt attempt(s): $(tr '\n' ' ' <"$err")"
      rm -f "$err"
      return 1
    fi
    log "reading $name failed (attempt $attempt of $AWS_ATTEMPTS), retrying in ${AWS_RETRY}s: $(tr '\n' ' ' <"$err")"
    sleep "$AWS_RETRY"
    attempt=$((attempt + 1))
  done
}

changed_units=()
# write_file PATH OWNER MODE UNIT: replaces PATH atomically when its content differs (content on stdin);
# records UNIT for a restart when it did.
write_file() {
  local path=$1 owner=$2 mode=$3 unit=$4 tmp
  [[ -d "$(dirname "$path")" ]] || install -d -m 0755 "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chown "$owner" "$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$path" ]] && cmp -s "$tmp" "$path" && [[ "$(stat -c '%U:%G %a' "$path")" == "$(stat -c '%U:%G %a' "$tmp")" ]]; then
    rm -f "$tmp"
    return 0
  fi
  mv "$tmp" "$path"
  log "wrote $path ($owner $mode)"
  [[ -z "$unit" ]] || changed_units+=("$unit")
}

start_unit() {
  local unit=$1
  if [[ " ${changed_units[*]} " == *" $unit "* ]]; then
    log "restarting $unit (its configuration changed)"
    "$SYSTEMCTL" restart "$unit"
  else
    "$SYSTEMCTL" start "$unit"
  fi
}

# One KEY=value line per entry of a JSON config object (box.env, data-config), values restricted so systemd
# and shell read them alike.
parse_config() { # JSON object text -> KEY=value lines on stdout
  python3 -c '
import json, re, sys
cfg = json.loads(sys.argv[1])
if not isinstance(cfg, dict):
    sys.exit("config is not a JSON object")
for key in sorted(cfg):
    value = cfg[key]
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key) or not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9@%+=:,./_-]*", value):
        sys.exit("config entry %r = %r: keys must be UPPER_SNAKE and values letters, digits or @%%+=:,./_-" % (key, value))
    print("%s=%s" % (key, value))
' "$1"
}

check_generated() { # LEAF VALUE
  [[ "$2" =~ ^[A-Za-z0-9]{16,}$ ]] ||
    die "SSM parameter $ZMANIM_SSM_PREFIX/$1 must be at least 16 letters or digits (generated by the secrets stack)"
}
check_clerk_key() {
  [[ "$1" =~ ^[A-Za-z0-9_]+$ ]] ||
    die "SSM parameter $ZMANIM_SSM_PREFIX/clerk-secret-key holds characters other than letters, digits and _"
}
warn_placeholder_clerk_key() {
  if [[ "$1" == PLACEHOLDER* ]]; then
    log "WARNING: $ZMANIM_SSM_PREFIX/clerk-secret-key is still the placeholder; set it (docs/secrets.md), then rerun this script. Protected routes fail until then."
  fi
}
load_cloudwatch_agent() { # CONFIG_JSON; reloads the agent when its configuration changed
  write_file "$CW_AGENT_CONFIG" root:root 0644 "$CW_UNIT" <<<"$1"
  if [[ " ${changed_units[*]} " == *" $CW_UNIT "* ]] || ! "$SYSTEMCTL" is-active --quiet "$CW_UNIT"; then
    "$CW_AGENT_CTL" -a fetch-config -m ec2 -s -c "file:$CW_AGENT_CONFIG"
    log "CloudWatch agent loaded $CW_AGENT_CONFIG"
  fi
}

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

# --- The box role
[[ "$ROLE" == box ]] || die "this script carries the box role only, not '$ROLE'"
# 1. The data volume: the NVMe serial of an EBS volume is its id without the dash.
link="$BY_ID_DIR/nvme-Amazon_Elastic_Block_Store_${ZMANIM_DATA_VOLUME_ID/-/}"
log "waiting up to ${VOLUME_WAIT}s for $ZMANIM_DATA_VOLUME_ID at $link"
waited=0
until [[ -b "$link" ]]; do
  if (( waited >= VOLUME_WAIT )); then
    die "data volume $ZMANIM_DATA_VOLUME_ID did not appear at $link within ${VOLUME_WAIT}s; check the aws_volume_attachment in the compute stack. Nothing was formatted or mounted."
  fi
  if (( waited % 30 == 0 && waited > 0 )); then log "still waiting for $ZMANIM_DATA_VOLUME_ID (${waited}s)"; fi
  sleep "$VOLUME_POLL"
  waited=$((waited + VOLUME_POLL))
done
dev=$(readlink -f "$link")
log "data volume $ZMANIM_DATA_VOLUME_ID is $dev (after ${waited}s)"

# 2. Format only when blkid finds no signature at all (exit 2). Any other answer, including a partition
#    table or an unknown signature, leaves the device untouched.
set +e
probe=$(blkid -p -o export "$dev" 2>&1)
probe_rc=$?
set -e
case $probe_rc in
  0)
    fstype=$(sed -n 's/^TYPE=//p' <<<"$probe")
    [[ -n "$fstype" ]] || die "$dev carries a signature but no filesystem (blkid: $(tr '\n' ' ' <<<"$probe")); refusing to format or mount it"
    [[ "$fstype" =~ ^(xfs|ext4|ext3|ext2|btrfs)$ ]] || die "$dev holds a '$fstype' signature, not a data filesystem; refusing to format or mount it"
    log "$dev already holds a $fstype filesystem; not formatting"
    ;;
  2)
    log "$dev is blank (blkid found no signature); creating an XFS filesystem"
    mkfs.xfs -q -L zmanim-data "$dev"
    fstype=xfs
    ;;
  *)
    die "blkid could not probe $dev (exit $probe_rc: $probe); refusing to format or mount it"
    ;;
esac
uuid=$(blkid -p -s UUID -o value "$dev")
[[ -n "$uuid" ]] || die "no filesystem UUID on $dev"

# /etc/fstab: exactly one line for the mount point, by UUID, nofail so a missing volume never blocks boot.
entry="UUID=$uuid $MNT $fstype defaults,nofail 0 0"
touch "$FSTAB"
if ! grep -qxF "$entry" "$FSTAB" || [[ $(awk -v m="$MNT" '$2 == m' "$FSTAB" | wc -l) -ne 1 ]]; then
  tmp=$(mktemp "$FSTAB.XXXXXX")
  awk -v m="$MNT" '$2 != m' "$FSTAB" >"$tmp"
  printf '%s\n' "$entry" >>"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$FSTAB"
  log "wrote $FSTAB entry: $entry"
fi
"$SYSTEMCTL" daemon-reload

mkdir -p "$MNT"
if mountpoint -q "$MNT"; then
  src=$(findmnt -n -o SOURCE --target "$MNT")
  [[ "$(readlink -f "$src")" == "$dev" ]] || die "$MNT is already mounted from $src, not from $dev"
  log "$MNT is already mounted from $dev"
else
  mount --fstab "$FSTAB" "$MNT"
  log "mounted $dev (UUID $uuid) on $MNT"
fi
mountpoint -q "$MNT" || die "$MNT is not a mount point after mounting"
chown root:root "$MNT"
chmod 0755 "$MNT"

# 3. Data directories and the PostgreSQL cluster.
install -d -o postgres -g postgres -m 0700 "$MNT/postgres" "$MNT/postgres/$PG_MAJOR" "$PGDATA_DIR"
install -d -o redis -g redis -m 0750 "$MNT/redis"
if [[ -s "$PGDATA_DIR/PG_VERSION" ]]; then
  log "PostgreSQL cluster in $PGDATA_DIR exists (version $(cat "$PGDATA_DIR/PG_VERSION")); not initializing"
elif [[ -n "$(ls -A "$PGDATA_DIR")" ]]; then
  die "$PGDATA_DIR is not empty but holds no PG_VERSION; refusing to initialize over it"
else
  log "initializing an empty PostgreSQL cluster in $PGDATA_DIR"
  runuser -u postgres -- "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 --data-checksums >/dev/null
fi

# 4. Settings and secrets from SSM.

config_json=$(ssm_get config) || die "SSM parameter $ZMANIM_SSM_PREFIX/config is required"
pg_password=$(ssm_get postgres-password) || die "SSM parameter $ZMANIM_SSM_PREFIX/postgres-password is required"
redis_password=$(ssm_get redis-password) || die "SSM parameter $ZMANIM_SSM_PREFIX/redis-password is required"
restic_password=$(ssm_get restic-password) || die "SSM parameter $ZMANIM_SSM_PREFIX/restic-password is required"
clerk_key=$(ssm_get clerk-secret-key) || die "SSM parameter $ZMANIM_SSM_PREFIX/clerk-secret-key is required"
cw_config=$(ssm_get cloudwatch-agent) || die "SSM parameter $ZMANIM_SSM_PREFIX/cloudwatch-agent is required"

check_generated postgres-password "$pg_password"
check_generated redis-password "$redis_password"
check_generated restic-password "$restic_password"
check_clerk_key "$clerk_key"

box_env=$(parse_config "$config_json") || die "SSM parameter $ZMANIM_SSM_PREFIX/config is not valid (see the message above)"
cfg() { sed -n "s/^$1=//p" <<<"$box_env"; }
api_port=$(cfg ZMANIM_API_PORT)
restic_repo=$(cfg RESTIC_REPOSITORY)
[[ "$(cfg ZMANIM_ENV)" == "$ZMANIM_ENV" ]] || die "config ZMANIM_ENV='$(cfg ZMANIM_ENV)' does not match this box's environment '$ZMANIM_ENV'"
[[ "$api_port" =~ ^[0-9]+$ ]] || die "config ZMANIM_API_PORT='$api_port' is not a port number"
[[ -n "$restic_repo" ]] || die "config RESTIC_REPOSITORY is empty"


write_file "$ETC/zmanim/box.env" root:root 0644 "" <<<"$box_env"
write_file "$ETC/zmanim/api.env" root:root 0600 "$API_UNIT" <<EOF
ZMANIM_ENV=$ZMANIM_ENV
PORT=$api_port
DATABASE_URL=postgres://zmanim:$pg_password@127.0.0.1:$PG_PORT/zmanim?sslmode=disable
REDIS_URL=redis://:$redis_password@127.0.0.1:6379/0
CLERK_SECRET_KEY=$clerk_key
EOF
write_file "$ETC/restic/env" root:root 0600 "" <<EOF
RESTIC_REPOSITORY=$restic_repo
RESTIC_PASSWORD=$restic_password
AWS_DEFAULT_REGION=$ZMANIM_REGION
PGHOST=/var/run/postgresql
PGPORT=$PG_PORT
PGUSER=postgres
PGDATABASE=zmanim
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
REDISCLI_AUTH=$redis_password
ZMANIM_METRICS_NAMESPACE=$(cfg ZMANIM_METRICS_NAMESPACE)
EOF
write_file "$ETC/redis/auth.conf" redis:redis 0600 "$REDIS_UNIT" <<EOF
requirepass $redis_password
EOF
for unit in "$PG_UNIT" "$REDIS_UNIT"; do
  # The AMI ships such a drop-in; write one only where no drop-in requires the mount yet.
  if grep -qsx "RequiresMountsFor=$MNT" "$ETC/systemd/system/$unit.d/"*.conf; then
    [[ -f "$ETC/systemd/system/$unit.d/10-zmanim-data.conf" ]] || continue
  fi
  write_file "$ETC/systemd/system/$unit.d/10-zmanim-data.conf" root:root 0644 "$unit" <<EOF
[Unit]
RequiresMountsFor=$MNT
EOF
done
"$SYSTEMCTL" daemon-reload

# 5. CloudWatch agent: metrics and log shipping (configuration from SSM).
load_cloudwatch_agent "$cw_config"

# 6. Services, in order. A unit whose configuration changed is restarted; others are started (a no-op when
#    they already run).

start_unit "$PG_UNIT"
# The zmanim role and database; the role's password follows SSM on every run (rotation). The password is
# passed on stdin, never on a command line.
psql_admin() {
  runuser -u postgres -- "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -d postgres "$@"
}
ready=0
for _ in $(seq 1 60); do
  if psql_admin -c 'SELECT 1' >/dev/null 2>&1; then ready=1; break; fi
  sleep 1
done
(( ready )) || die "PostgreSQL ($PG_UNIT) did not accept connections on $PG_SOCKET_DIR port $PG_PORT within 60s"
psql_admin >/dev/null <<EOF
\\set pw '$pg_password'
SELECT 'CREATE ROLE zmanim LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zmanim')
\\gexec
ALTER ROLE zmanim WITH LOGIN PASSWORD :'pw';
SELECT 'CREATE DATABASE zmanim OWNER zmanim' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'zmanim')
\\gexec
EOF
log "PostgreSQL role zmanim and database zmanim are in place"

start_unit "$REDIS_UNIT"
warn_placeholder_clerk_key "$clerk_key"
start_unit "$API_UNIT"
"$SYSTEMCTL" start "$BACKUP_TIMER"
log "done: $MNT mounted, $PG_UNIT, $REDIS_UNIT, $API_UNIT and $BACKUP_TIMER started"
