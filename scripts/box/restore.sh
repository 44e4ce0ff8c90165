#!/usr/bin/env bash
# Restores a backup run (PostgreSQL and/or Redis) from the restic repository and verifies it. See --help.
set -euo pipefail
ZMANIM_SCRIPT=restore.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/box/lib/common.sh
source "$here/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: restore.sh [--snapshot ID|latest] [--postgres] [--redis] [--target-db NAME]
                  [--globals | --no-globals] [--i-know-this-overwrites-live] [--help]

Restores one backup run made by backup.sh. A run is three snapshots (postgres.dump,
postgres-globals.sql, redis.rdb) sharing a `run:<id>` tag; give any one of their ids, or `latest`
(the newest run tagged `complete`). Snapshots of failed runs are refused.

PostgreSQL (the server named by PGHOST/PGPORT/PGUSER):
  - refuses to touch a database that already exists unless --i-know-this-overwrites-live is given;
    with it, the database is dropped (WITH FORCE: stop zmanim-api first) and recreated
  - roles (postgres-globals.sql) are applied first with --globals (the default when overwriting live);
    "already exists" errors are expected and ignored, any other error stops the restore
  - pg_restore --exit-on-error, streamed from `restic dump` (nothing is staged on disk)
  - pg_cron: the extension can only be created in the database named by the server's
    cron.database_name, on a server that preloads pg_cron. When the target is not that database, the
    extension and its tables (schema cron) are left out and the summary says how many jobs were skipped
  - verification: the rows of every table in the dump (counted from the dump's COPY data while it
    streams) are compared with count(*) in the restored database; any difference exits 13
Redis (the server named by REDIS_HOST/REDIS_PORT/REDISCLI_AUTH; it must run on this host):
  - refuses a server that holds any key unless --i-know-this-overwrites-live is given
  - the RDB is loaded into a temporary redis-server on 127.0.0.1 (appendonly no), and the target
    replicates from it (REPLICAOF, then REPLICAOF NO ONE). Redis itself rewrites the target's AOF
    after the sync, so a restart keeps the restored data (a dump.rdb copied next to an AOF would be
    ignored). The target's keys per database are compared with the RDB's; any difference exits 13

Options:
  --snapshot ID|latest          what to restore (default: latest)
  --postgres, --redis           restore only this part (default: both)
  --target-db NAME              database to restore into (default: $PGDATABASE)
  --globals / --no-globals      apply roles first (default: on with --i-know-this-overwrites-live)
  --i-know-this-overwrites-live allow replacing an existing database / a Redis that holds keys
  -h, --help                    show this help

Variables (the environment wins; /etc/restic/env only fills in what is not set):
  RESTIC_REPOSITORY, RESTIC_PASSWORD | RESTIC_PASSWORD_FILE | RESTIC_PASSWORD_COMMAND, RESTIC_CACERT
  AWS_*                       S3 credentials/region (on EC2: the instance role)
  PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE    target PostgreSQL server (a superuser)
  REDIS_HOST, REDIS_PORT, REDISCLI_AUTH             target Redis (default 127.0.0.1:6379)
  ZMANIM_RESTORE_TIMEOUT      seconds to wait for Redis to load/sync (default 600)
  ZMANIM_RESTIC_ENV_FILE      the env file (default /etc/restic/env)
  RESTIC                      the restic binary (default: restic on PATH)
  TMPDIR                      where the Redis RDB is staged during the restore (default /tmp)

Exit status: 0 restored and verified; 1 fatal error; 2 usage error or refused (nothing was changed);
10 repository does not exist; 12 wrong password; 13 verification failed.
EOF
}

snapshot=latest do_pg=0 do_redis=0 target_db="" globals=auto live=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --snapshot)
      [[ $# -ge 2 && -n $2 ]] || die "$ZMANIM_EXIT_USAGE" "--snapshot needs a snapshot id or 'latest'"
      snapshot=$2
      shift
      ;;
    --postgres) do_pg=1 ;;
    --redis) do_redis=1 ;;
    --target-db)
      [[ $# -ge 2 && $2 =~ ^[A-Za-z_][A-Za-z0-9_$-]*$ ]] || die "$ZMANIM_EXIT_USAGE" "--target-db needs a database name (letters, digits, _ - \$), got '${2:-}'"
      target_db=$2
      shift
      ;;
    --globals) globals=yes ;;
    --no-globals) globals=no ;;
    --i-know-this-overwrites-live) live=1 ;;
    -h | --help) usage; exit 0 ;;
    *) die "$ZMANIM_EXIT_USAGE" "unknown option '$1'; see restore.sh --help" ;;
  esac
  shift
done
[[ $do_pg -eq 0 && $do_redis -eq 0 ]] && do_pg=1 do_redis=1
[[ $globals == auto ]] && { [[ $live -eq 1 ]] && globals=yes || globals=no; }

load_env
require_restic_config
if [[ $do_pg -eq 1 ]]; then
  target_db=${target_db:-${PGDATABASE:-}}
  [[ -n $target_db ]] || die "$ZMANIM_EXIT_USAGE" "no target database: pass --target-db NAME or set PGDATABASE"
fi
timeout_s=${ZMANIM_RESTORE_TIMEOUT:-600}
[[ $timeout_s =~ ^[0-9]+$ ]] || die "$ZMANIM_EXIT_USAGE" "ZMANIM_RESTORE_TIMEOUT='$timeout_s' is not a number of seconds"

# psql against the maintenance database of the target server.
admin_sql() { psql -X -q -A -t --no-password -v ON_ERROR_STOP=1 -d "${ZMANIM_ADMIN_DB:-postgres}" "$@"; }
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }
redis() { redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" --no-auth-warning "$@"; }
# info_field SECTION FIELD [redis-cli args...]: one field of INFO.
info_field() {
  local section=$1 field=$2
  shift 2
  "$@" INFO "$section" | tr -d '\r' | sed -n "s/^$field://p"
}
keyspace() { "$@" INFO keyspace | tr -d '\r' | sed -n 's/^\(db[0-9]*\):keys=\([0-9]*\).*/\1=\2/p' | sort | paste -sd' ' -; }

# Refuse before anything is changed or downloaded.
if [[ $do_pg -eq 1 ]]; then
  exists=$(admin_sql -c "SELECT 1 FROM pg_database WHERE datname = $(sql_literal "$target_db")") ||
    die "$ZMANIM_EXIT_FATAL" "cannot connect to PostgreSQL at ${PGHOST:-socket}:${PGPORT:-5432} as ${PGUSER:-$(id -un)}; check PGHOST/PGPORT/PGUSER/PGPASSWORD"
  if [[ $exists == 1 && $live -eq 0 ]]; then
    die "$ZMANIM_EXIT_USAGE" "database '$target_db' already exists on ${PGHOST:-socket}:${PGPORT:-5432}; refusing to overwrite it. Restore into a new name with --target-db NAME, or replace it with --i-know-this-overwrites-live (stop zmanim-api first)"
  fi
fi
if [[ $do_redis -eq 1 ]]; then
  [[ $(redis PING 2>/dev/null) == PONG ]] ||
    die "$ZMANIM_EXIT_FATAL" "cannot reach Redis at ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}; check REDIS_HOST/REDIS_PORT/REDISCLI_AUTH"
  existing=$(keyspace redis)
  if [[ -n $existing && $live -eq 0 ]]; then
    die "$ZMANIM_EXIT_USAGE" "Redis at ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379} holds keys ($existing); refusing to overwrite it. Use an empty server, or pass --i-know-this-overwrites-live"
  fi
fi

REPO_STATUS=0
open_repo || die "$REPO_STATUS" "$(explain_exit "$REPO_STATUS")"
run_info=$(resolve_run "$snapshot")
run=${run_info%% *}
run_time=${run_info#* }
info "restoring backup $run (taken $run_time) from $RESTIC_REPOSITORY"

work=$(mktemp -d "${TMPDIR:-/tmp}/zmanim-restore.XXXXXX")
temp_redis_port=""
cleanup() {
  local rc=$?
  if [[ -n $temp_redis_port ]]; then
    redis-cli -h 127.0.0.1 -p "$temp_redis_port" --no-auth-warning SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
summary=()

restore_postgres() {
  local snap globals_snap
  snap=$(snapshot_of "$run" postgres.dump)
  if [[ $globals == yes ]]; then
    globals_snap=$(snapshot_of "$run" postgres-globals.sql)
    info "applying roles from snapshot $globals_snap (postgres-globals.sql)"
    local rc=0
    restic_cmd dump "$globals_snap" postgres-globals.sql |
      psql -X -q --no-password -v ON_ERROR_STOP=0 -d "${ZMANIM_ADMIN_DB:-postgres}" >/dev/null 2>"$work/globals.err" || rc=$?
    [[ $rc -eq 0 ]] || { cat "$work/globals.err" >&2; die "$ZMANIM_EXIT_FATAL" "applying postgres-globals.sql failed (exit $rc)"; }
    if grep -v 'already exists' "$work/globals.err" | grep -q 'ERROR'; then
      cat "$work/globals.err" >&2
      die "$ZMANIM_EXIT_FATAL" "applying postgres-globals.sql reported errors other than 'already exists' (above)"
    fi
    summary+=("roles: applied from postgres-globals.sql ($(grep -c 'already exists' "$work/globals.err" || true) already existed)")
  fi

  # The table of contents, read from the head of the stream. pg_restore stops reading once it has it and
  # restic dies of SIGPIPE, so this read takes no repository lock (a killed restic would leave its lock).
  restic_cmd --no-lock dump "$snap" postgres.dump 2>/dev/null | pg_restore -l -C >"$work/toc.full" || true
  grep -q '^;.*Format: CUSTOM' "$work/toc.full" || die "$ZMANIM_EXIT_FATAL" "snapshot $snap does not hold a pg_dump custom-format archive (pg_restore -l failed)"
  local owner
  owner=$(awk '$4 == "DATABASE" && $5 == "-" { print $7; exit }' "$work/toc.full")
  grep -v ' DATABASE - ' "$work/toc.full" >"$work/toc"

  # pg_cron is kept only where the server would accept CREATE EXTENSION pg_cron in the target database.
  if grep -qE ' EXTENSION - pg_cron( |$)' "$work/toc"; then
    local cron_db preload
    cron_db=$(admin_sql -c "SELECT current_setting('cron.database_name', true)")
    preload=$(admin_sql -c "SHOW shared_preload_libraries")
    if [[ $preload == *pg_cron* && $cron_db == "$target_db" ]]; then
      summary+=("pg_cron: restored (cron.database_name = $cron_db)")
    else
      local jobs
      jobs=$(
        set +o pipefail
        restic_cmd --no-lock dump "$snap" postgres.dump 2>/dev/null | pg_restore -f - --data-only -t job -n cron 2>/dev/null |
          awk '/^COPY cron\.job /{c=1;next} c&&/^\\\.$/{c=0} c{n++} END{print n+0}'
      )
      grep -vE ' EXTENSION - pg_cron( |$)| EXTENSION pg_cron( |$)|SCHEMA - cron |^[0-9]+; [0-9]+ [0-9]+ [A-Z ]+ cron ' "$work/toc" >"$work/toc.filtered"
      mv "$work/toc.filtered" "$work/toc"
      local why="this server does not preload pg_cron"
      [[ $preload == *pg_cron* ]] && why="this server runs pg_cron in database '${cron_db:-postgres}', not '$target_db'"
      summary+=("pg_cron: NOT restored ($why); $jobs job(s) in the dump skipped")
      warn "pg_cron left out: $why; $jobs scheduled job(s) in the dump are not restored"
    fi
  fi

  if [[ $exists == 1 ]]; then
    warn "dropping the existing database '$target_db' (--i-know-this-overwrites-live)"
    admin_sql -c "DROP DATABASE $(sql_ident "$target_db") WITH (FORCE)" >/dev/null
  fi
  local create
  create="CREATE DATABASE $(sql_ident "$target_db") TEMPLATE template0"
  if [[ -n $owner ]] && [[ $(admin_sql -c "SELECT 1 FROM pg_roles WHERE rolname = $(sql_literal "$owner")") == 1 ]]; then
    create+=" OWNER $(sql_ident "$owner")"
  elif [[ -n $owner ]]; then
    warn "role '$owner' (owner of the dumped database) does not exist here; '$target_db' is owned by ${PGUSER:-the current user} (use --globals to create the roles)"
  fi
  admin_sql -c "$create" >/dev/null
  info "restoring snapshot $snap (postgres.dump) into database '$target_db'"
  # The stream goes to pg_restore and, through a FIFO, to a second pg_restore that prints the COPY
  # data so that the rows of each table in the dump can be counted.
  mkfifo "$work/copy.fifo"
  (pg_restore -f - --data-only -L "$work/toc" <"$work/copy.fifo" | awk '
      /^COPY .* FROM stdin;$/ { name = $0; sub(/^COPY /, "", name); sub(/ (\(.*\) )?FROM stdin;$/, "", name); n = 0; inside = 1; next }
      inside && $0 == "\\." { print name "\t" n; inside = 0; next }
      inside { n++ }' >"$work/counts") &
  local counter=$! counter_rc=0
  local -a st
  set +e
  restic_cmd dump "$snap" postgres.dump | tee "$work/copy.fifo" | pg_restore --exit-on-error --no-password -L "$work/toc" -d "$target_db"
  st=("${PIPESTATUS[@]}")
  wait "$counter"
  counter_rc=$?
  set -e
  [[ ${st[0]} -eq 0 ]] || die "$ZMANIM_EXIT_FATAL" "restic dump of $snap failed (exit ${st[0]})"
  [[ ${st[2]} -eq 0 ]] || die "$ZMANIM_EXIT_FATAL" "pg_restore into '$target_db' failed (exit ${st[2]}); the database is incomplete, see the error above"
  [[ ${st[1]} -eq 0 && $counter_rc -eq 0 ]] || die "$ZMANIM_EXIT_FATAL" "counting the rows of the dump failed (tee ${st[1]}, pg_restore --data-only $counter_rc)"

  # Verification: rows per table in the dump against count(*) in the restored database.
  local tables=0 bad=0 skipped=0 name want got ext
  printf '%-50s %12s %12s  %s\n' "table" "dump rows" "restored" "" >"$work/report"
  while IFS=$'\t' read -r name want; do
    [[ -n $name ]] || continue
    ext=$(psql -X -A -t --no-password -d "$target_db" -c "SELECT EXISTS (SELECT 1 FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = $(sql_literal "$name")::regclass AND deptype = 'e')")
    if [[ $ext == t ]]; then
      skipped=$((skipped + 1))
      printf '%-50s %12s %12s  %s\n' "$name" "$want" "-" "skipped (extension configuration table)" >>"$work/report"
      continue
    fi
    got=$(psql -X -A -t --no-password -d "$target_db" -c "SELECT count(*) FROM ONLY $name")
    tables=$((tables + 1))
    if [[ $got == "$want" ]]; then
      printf '%-50s %12s %12s  %s\n' "$name" "$want" "$got" "ok" >>"$work/report"
    else
      bad=$((bad + 1))
      printf '%-50s %12s %12s  %s\n' "$name" "$want" "$got" "MISMATCH" >>"$work/report"
    fi
  done <"$work/counts"
  cat "$work/report"
  if [[ $bad -gt 0 ]]; then
    summary+=("postgres: MISMATCH: $bad of $tables table(s) differ from the dump")
    mismatch=1
    return 0
  fi
  summary+=("postgres: database '$target_db' restored from $snap; $tables table(s) verified, row counts equal to the dump ($skipped extension table(s) skipped)")
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.2 s; fail after SECONDS.
wait_until() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.2
  done
}

restore_redis() {
  local snap
  snap=$(snapshot_of "$run" redis.rdb)
  info "downloading snapshot $snap (redis.rdb)"
  restic_cmd dump "$snap" redis.rdb >"$work/dump.rdb" || die "$ZMANIM_EXIT_FATAL" "restic dump of $snap (redis.rdb) failed"
  temp_redis_port=$(free_port) || die "$ZMANIM_EXIT_FATAL" "no free port on 127.0.0.1 for the temporary redis-server"
  local -a auth=()
  [[ -n ${REDISCLI_AUTH:-} ]] && auth=(--requirepass "$REDISCLI_AUTH")
  redis-server --port "$temp_redis_port" --bind 127.0.0.1 --dir "$work" --dbfilename dump.rdb \
    --appendonly no --save '' --repl-diskless-sync-delay 0 --daemonize yes \
    --logfile "$work/temp-redis.log" --pidfile "$work/temp-redis.pid" "${auth[@]}" >/dev/null ||
    die "$ZMANIM_EXIT_FATAL" "could not start a temporary redis-server on 127.0.0.1:$temp_redis_port"
  local -a temp=(redis-cli -h 127.0.0.1 -p "$temp_redis_port" --no-auth-warning)
  temp_ready() { [[ $("${temp[@]}" PING 2>/dev/null) == PONG && $(info_field persistence loading "${temp[@]}") == 0 ]]; }
  wait_until "$timeout_s" temp_ready ||
    { cat "$work/temp-redis.log" >&2; die "$ZMANIM_EXIT_FATAL" "the temporary redis-server did not load the RDB within $timeout_s s (ZMANIM_RESTORE_TIMEOUT)"; }
  local expected
  expected=$(keyspace "${temp[@]}")
  info "RDB loaded into 127.0.0.1:$temp_redis_port (${expected:-empty}); target replicates from it"

  local old_masterauth
  old_masterauth=$(redis CONFIG GET masterauth | sed -n 2p)
  [[ -n ${REDISCLI_AUTH:-} ]] && redis CONFIG SET masterauth "$REDISCLI_AUTH" >/dev/null
  redis REPLICAOF 127.0.0.1 "$temp_redis_port" >/dev/null
  synced() {
    [[ $(info_field replication master_link_status redis) == up &&
      $(info_field replication master_sync_in_progress redis) == 0 &&
      $(info_field persistence loading redis) == 0 ]]
  }
  local ok=1
  wait_until "$timeout_s" synced || ok=0
  redis REPLICAOF NO ONE >/dev/null
  redis CONFIG SET masterauth "$old_masterauth" >/dev/null
  [[ $ok -eq 1 ]] || die "$ZMANIM_EXIT_FATAL" "the target Redis did not finish syncing from the restored RDB within $timeout_s s; see its log"

  if [[ $(info_field persistence aof_enabled redis) == 1 ]]; then
    aof_done() {
      [[ $(info_field persistence aof_rewrite_in_progress redis) == 0 &&
        $(info_field persistence aof_rewrite_scheduled redis) == 0 ]]
    }
    wait_until "$timeout_s" aof_done || die "$ZMANIM_EXIT_FATAL" "the target's AOF rewrite did not finish within $timeout_s s"
    [[ $(info_field persistence aof_last_bgrewrite_status redis) == ok ]] ||
      die "$ZMANIM_EXIT_FATAL" "the target's AOF rewrite after the restore failed (aof_last_bgrewrite_status); check its disk and log"
    summary+=("redis: AOF rewritten from the restored data (appendonly yes)")
  else
    redis BGSAVE >/dev/null || true
  fi

  local got
  got=$(keyspace redis)
  if [[ $got != "$expected" ]]; then
    summary+=("redis: MISMATCH: the RDB holds '${expected:-no keys}', the target '${got:-no keys}'")
    mismatch=1
    return 0
  fi
  summary+=("redis: restored from $snap into ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}; keys per database equal to the RDB (${got:-no keys})")
}

mismatch=0
if [[ $do_pg -eq 1 ]]; then restore_postgres; fi
if [[ $do_redis -eq 1 ]]; then restore_redis; fi

echo "restore summary ($run, taken $run_time):"
printf '  %s\n' "${summary[@]}"
if [[ $mismatch -ne 0 ]]; then
  die "$ZMANIM_EXIT_MISMATCH" "verification failed: the restored data differs from the backup (see the summary)"
fi
info "restore verified"
