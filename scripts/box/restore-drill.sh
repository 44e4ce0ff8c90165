#!/usr/bin/env bash
# Weekly restore drill: restores a backup run into scratch PostgreSQL and Redis servers that it starts on
# 127.0.0.1, verifies the data, and reports RTO and RPO. Run by zmanim-restore-drill.service. See --help.
set -euo pipefail
ZMANIM_SCRIPT=restore-drill.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/box/lib/common.sh
source "$here/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: restore-drill.sh [--snapshot ID|latest] [--help]

Proves that the backups can be restored, without touching the live servers:
  1. starts a scratch PostgreSQL cluster (initdb + pg_ctl, as the postgres user when run as root) and a
     scratch Redis (appendonly yes, like production, with a random password) on free 127.0.0.1 ports,
     in a temporary directory
  2. runs restore.sh --globals into them (roles, the $PGDATABASE dump, the Redis RDB); restore.sh
     compares every table's row count with the dump and Redis's keys with the RDB
  3. prints RTO (wall time of the restore) and RPO (age of the restored backup), then stops the scratch
     servers and deletes their data, also on failure
  4. publishes RestoreDrillSuccess (1 passed, 0 failed) and, when it passed, RestoreDrillAgeSeconds=0, and
     records the time of the pass in $ZMANIM_DRILL_STAMP; backup.sh publishes the stamp's age daily, and the
     restore-drill-stale alarm fires when no drill has passed for 8 days (docs/monitoring.md)
The exit status is restore.sh's: 0 verified, 13 any mismatch, other non-zero values as in restore.sh
(a drill that passed but could not publish its metric exits 1).

Options:
  --snapshot ID|latest   the backup run to restore (default: latest)
  -h, --help             show this help

Variables (the environment wins; /etc/restic/env only fills in what is not set):
  RESTIC_REPOSITORY, RESTIC_PASSWORD | RESTIC_PASSWORD_FILE | RESTIC_PASSWORD_COMMAND, RESTIC_CACERT, AWS_*
  PGDATABASE           name of the backed-up database (restored under the same name in the scratch cluster)
  ZMANIM_PG_BINDIR     directory of initdb/pg_ctl (default /usr/lib/postgresql/16/bin, else the newest
                       /usr/lib/postgresql/*/bin)
  ZMANIM_DRILL_DIR     parent of the scratch servers' temporary directory (default ${TMPDIR:-/tmp};
                       on the box use /data/tmp when the root disk is small)
  ZMANIM_METRICS_NAMESPACE  CloudWatch namespace of the drill's metrics (e.g. Zmanim/prod); unset: none
                       published (a warning is logged)
  ZMANIM_DRILL_STAMP   file that records the last passed drill (default /data/zmanim/restore-drill-passed,
                       on the persistent volume, so a replacement instance keeps it)
  ZMANIM_RESTIC_ENV_FILE, RESTIC   as in backup.sh
EOF
}

snapshot=latest
while [[ $# -gt 0 ]]; do
  case $1 in
    --snapshot)
      [[ $# -ge 2 && -n $2 ]] || die "$ZMANIM_EXIT_USAGE" "--snapshot needs a snapshot id or 'latest'"
      snapshot=$2
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) die "$ZMANIM_EXIT_USAGE" "unknown option '$1'; see restore-drill.sh --help" ;;
  esac
  shift
done

load_env
require_restic_config
require_var PGDATABASE "it names the backed-up database, e.g. PGDATABASE=zmanim"

bindir=${ZMANIM_PG_BINDIR:-}
if [[ -z $bindir ]]; then
  if [[ -x /usr/lib/postgresql/16/bin/initdb ]]; then
    bindir=/usr/lib/postgresql/16/bin
  else
    bindir=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1 | xargs -r dirname)
  fi
fi
[[ -n $bindir && -x $bindir/initdb && -x $bindir/pg_ctl ]] ||
  die "$ZMANIM_EXIT_USAGE" "no initdb/pg_ctl in ZMANIM_PG_BINDIR='${bindir}'; set ZMANIM_PG_BINDIR to the PostgreSQL server's bin directory"

base=$(mktemp -d "${ZMANIM_DRILL_DIR:-${TMPDIR:-/tmp}}/zmanim-drill.XXXXXX")
chmod 0755 "$base"
pgdata=$base/pg
sock=$base/sock
mkdir -p "$sock" "$base/redis"
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres:postgres "$sock"
  as_owner=(runuser -u postgres --)
  if ! runuser -u postgres -- test -x "$base"; then
    rm -rf "$base"
    die "$ZMANIM_EXIT_USAGE" "the postgres user cannot enter $base; make ZMANIM_DRILL_DIR='${ZMANIM_DRILL_DIR:-${TMPDIR:-/tmp}}' traversable (chmod o+x) or point it elsewhere"
  fi
fi
pg_started=0 redis_port=""
redis_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if [[ $pg_started -eq 1 ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$pgdata" -w -t 60 -m immediate stop >/dev/null 2>&1 || true
  fi
  if [[ -n $redis_port ]]; then
    REDISCLI_AUTH=$redis_password redis-cli -h 127.0.0.1 -p "$redis_port" --no-auth-warning SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  fi
  rm -rf "$base"
  exit "$rc"
}
trap cleanup EXIT

info "starting a scratch PostgreSQL ($bindir) and Redis in $base"
[[ $(id -u) -eq 0 ]] && install -d -o postgres -g postgres -m 0700 "$pgdata"
"${as_owner[@]}" "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$base/initdb.log" 2>&1 ||
  { cat "$base/initdb.log" >&2; die "$ZMANIM_EXIT_FATAL" "initdb of the scratch cluster failed"; }
pg_port=$(free_port) || die "$ZMANIM_EXIT_FATAL" "no free port on 127.0.0.1 for the scratch PostgreSQL"
"${as_owner[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 120 \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$sock -c fsync=off -c full_page_writes=off" start >/dev/null ||
  { cat "$pgdata/server.log" >&2; die "$ZMANIM_EXIT_FATAL" "the scratch PostgreSQL did not start on 127.0.0.1:$pg_port"; }
pg_started=1
redis_port=$(free_port) || die "$ZMANIM_EXIT_FATAL" "no free port on 127.0.0.1 for the scratch Redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$base/redis" --appendonly yes --save '' \
  --requirepass "$redis_password" --daemonize yes --logfile "$base/redis/redis.log" --pidfile "$base/redis/redis.pid" >/dev/null ||
  die "$ZMANIM_EXIT_FATAL" "the scratch Redis did not start on 127.0.0.1:$redis_port"
for _ in $(seq 1 100); do
  [[ $(REDISCLI_AUTH=$redis_password redis-cli -h 127.0.0.1 -p "$redis_port" --no-auth-warning PING 2>/dev/null) == PONG ]] && break
  sleep 0.1
done

started=$(date +%s.%N)
rc=0
PGHOST=127.0.0.1 PGPORT=$pg_port PGUSER=postgres PGPASSWORD="" PGSSLMODE=disable \
  REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port REDISCLI_AUTH=$redis_password \
  "$here/restore.sh" --snapshot "$snapshot" --globals --target-db "$PGDATABASE" || rc=$?
finished=$(date +%s.%N)

run_info=$(resolve_run "$snapshot") || true
run_time=${run_info#* }
rto=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }')
rpo="unknown"
if [[ -n $run_time ]]; then
  rpo=$(($(date +%s) - $(date -d "$run_time" +%s)))
fi
if [[ $rc -eq 0 ]]; then
  echo "restore drill PASSED: RTO ${rto} s (restore and verification), RPO ${rpo} s (age of backup ${run_info%% *}, taken $run_time)"
else
  echo "restore drill FAILED (restore.sh exit $rc): RTO ${rto} s, RPO ${rpo} s (backup ${run_info%% *})"
fi

# The drill's metrics: one RestoreDrillSuccess per drill; a pass also resets the age that backup.sh publishes.
stamp=${ZMANIM_DRILL_STAMP:-/data/zmanim/restore-drill-passed}
if [[ $rc -eq 0 ]]; then
  { mkdir -p "$(dirname "$stamp")" && date -u +%s >"$stamp"; } ||
    warn "could not record the pass in $stamp; backup.sh keeps publishing the previous drill's age"
fi
if [[ -n ${ZMANIM_METRICS_NAMESPACE:-} ]]; then
  metrics=("MetricName=RestoreDrillSuccess,Value=$((rc == 0 ? 1 : 0)),Unit=Count")
  [[ $rc -eq 0 ]] && metrics+=("MetricName=RestoreDrillAgeSeconds,Value=0,Unit=Seconds")
  if ! aws cloudwatch put-metric-data --namespace "$ZMANIM_METRICS_NAMESPACE" --metric-data "${metrics[@]}"; then
    [[ $rc -eq 0 ]] && die "$ZMANIM_EXIT_FATAL" "the drill passed, but publishing RestoreDrillSuccess to $ZMANIM_METRICS_NAMESPACE failed"
    warn "publishing RestoreDrillSuccess=0 to $ZMANIM_METRICS_NAMESPACE failed"
  fi
else
  warn "ZMANIM_METRICS_NAMESPACE is not set; no RestoreDrillSuccess metric published"
fi
exit "$rc"
