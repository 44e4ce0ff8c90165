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
