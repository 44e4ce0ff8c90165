#!/usr/bin/env bash
# Daily backup of PostgreSQL and Redis into the restic repository, streamed (nothing is staged on disk).
# Run by zmanim-backup.service (timer: daily 03:00 UTC). See --help.
set -euo pipefail
ZMANIM_SCRIPT=backup.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/box/lib/common.sh
source "$here/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: backup.sh [--init] [--check | --no-check] [--forget-only] [--lock-wait SECONDS] [--help]

Streams three snapshots into the restic repository, one run at a time:
  postgres.dump         pg_dump -Fc -Z0 of $PGDATABASE (restic compresses and deduplicates)
  postgres-globals.sql  pg_dumpall --globals-only (roles)
  redis.rdb             redis-cli --rdb - (Redis starts streaming after its repl-diskless-sync-delay)
Every snapshot carries the tags `zmanim`, its kind (`postgres`, `postgres-globals`, `redis`) and
`run:<run id>`; when all three are saved the run is tagged `complete`. A failed dump never leaves a
snapshot: with a restic that has `backup --stdin-from-command` (0.17+) restic itself discards it;
otherwise every member of each pipe is checked and, on any failure, all snapshots of the run are
forgotten (listed with `restic snapshots --tag run:<id>`, then `restic forget <ids>`; the next
successful prune frees the data).
Then: publish the freshness metric, apply retention
(forget --keep-daily 7 --keep-weekly 4 --keep-monthly 3 --prune, grouped by path so PostgreSQL and
Redis each keep their own history) and, on Sundays, `restic check --read-data-subset=n/N` where n
rotates with the ISO week so that all data is read every N weeks.

Options:
  --init               create the repository if it does not exist yet (never done implicitly, so a
                       mistyped RESTIC_REPOSITORY fails instead of starting a new repository)
  --check              run the integrity check now, whatever the weekday
  --no-check           skip the integrity check, even on Sunday
  --forget-only        apply the retention policy only (no dump, no metric)
  --lock-wait SECONDS  how long to wait for a concurrent run to finish before giving up with exit 11
                       (default: $ZMANIM_BACKUP_LOCK_WAIT or 3600; 0 = do not wait)
  -h, --help           show this help

Variables (the environment wins; /etc/restic/env only fills in what is not set):
  RESTIC_REPOSITORY, RESTIC_PASSWORD | RESTIC_PASSWORD_FILE | RESTIC_PASSWORD_COMMAND   restic
  RESTIC_CACERT            PEM file for the repository's TLS endpoint (passed as --cacert)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION
                           S3 and CloudWatch credentials/region (on EC2: the instance role)
  PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE   libpq; PGDATABASE (required) is the database dumped
  REDIS_HOST, REDIS_PORT, REDISCLI_AUTH            Redis (default 127.0.0.1:6379, no password)
  ZMANIM_METRICS_NAMESPACE  CloudWatch namespace of the BackupSuccess metric (e.g. Zmanim/prod);
                            unset: no metric is published (a warning is logged)
  ZMANIM_DRILL_STAMP        the last passed restore drill (restore-drill.sh); its age is published as
                            RestoreDrillAgeSeconds after each backup (default /data/zmanim/restore-drill-passed)
  ZMANIM_CHECK_SUBSETS      N of --read-data-subset=n/N (default 4)
  ZMANIM_BACKUP_LOCK        lock file against concurrent runs (default /run/lock/zmanim-backup.lock)
  ZMANIM_BACKUP_LOCK_WAIT   default of --lock-wait
  ZMANIM_RESTIC_ENV_FILE    the env file (default /etc/restic/env)
  ZMANIM_RESTIC_TIMEOUT     seconds allowed to open the repository (default 120)
  RESTIC                    the restic binary (default: restic on PATH)

Exit status (restic's meanings):
  0 success; 1 fatal error, no snapshot of this run remains (or a step after the snapshots failed:
  metric, retention, check); 2 usage/configuration error; 3 restic could not read source data;
  10 repository does not exist; 11 locked by another run; 12 wrong password.
EOF
}

init=0 check=auto forget_only=0
lock_wait=${ZMANIM_BACKUP_LOCK_WAIT:-3600}
while [[ $# -gt 0 ]]; do
  case $1 in
    --init) init=1 ;;
    --check) check=yes ;;
    --no-check) check=no ;;
    --forget-only) forget_only=1 ;;
    --lock-wait)
      [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "$ZMANIM_EXIT_USAGE" "--lock-wait needs a number of seconds, got '${2:-}'; e.g. --lock-wait 600"
      lock_wait=$2
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) die "$ZMANIM_EXIT_USAGE" "unknown option '$1'; see backup.sh --help" ;;
  esac
  shift
done
[[ $lock_wait =~ ^[0-9]+$ ]] || die "$ZMANIM_EXIT_USAGE" "ZMANIM_BACKUP_LOCK_WAIT='$lock_wait' is not a number of seconds"

load_env
require_restic_config
if [[ $forget_only -eq 0 ]]; then
  require_var PGDATABASE "it names the database to dump, e.g. PGDATABASE=zmanim"
fi
subsets=${ZMANIM_CHECK_SUBSETS:-4}
[[ $subsets =~ ^[1-9][0-9]*$ ]] || die "$ZMANIM_EXIT_USAGE" "ZMANIM_CHECK_SUBSETS='$subsets' must be a positive integer (weeks to read all data once), e.g. 4"

# One run at a time. The lock is released when the process exits.
lock_file=${ZMANIM_BACKUP_LOCK:-/run/lock/zmanim-backup.lock}
exec 9>>"$lock_file" || die "$ZMANIM_EXIT_USAGE" "cannot open lock file $lock_file (ZMANIM_BACKUP_LOCK)"
if ! flock -n 9; then
  info "another backup run holds $lock_file; waiting up to ${lock_wait} s"
  flock -w "$lock_wait" 9 || die "$ZMANIM_EXIT_LOCKED" "another backup run still holds $lock_file after ${lock_wait} s; this run did nothing"
fi

REPO_STATUS=0
open_repo || true
if [[ $REPO_STATUS -eq $ZMANIM_EXIT_NO_REPO && $init -eq 1 ]]; then
  info "creating the restic repository at $RESTIC_REPOSITORY (--init)"
  restic_cmd init || die "$ZMANIM_EXIT_FATAL" "restic init failed for $RESTIC_REPOSITORY"
elif [[ $REPO_STATUS -ne 0 ]]; then
  die "$REPO_STATUS" "$(explain_exit "$REPO_STATUS")"
fi

# Forget and prune need an exclusive lock. A restic that was killed (timeout, OOM, SIGPIPE of a
# `restic dump | pg_restore -l`) leaves its lock behind; `restic unlock` removes only such stale locks
# (the process is gone from this host, or the lock was not refreshed for 30 minutes).
remove_stale_locks() { restic_cmd unlock >/dev/null 2>&1 || true; }

retention() {
  info "retention: keep daily 7, weekly 4, monthly 3 per path (postgres.dump, postgres-globals.sql, redis.rdb)"
  remove_stale_locks
  restic_cmd forget --tag zmanim --group-by paths --keep-daily 7 --keep-weekly 4 --keep-monthly 3 --prune
}

if [[ $forget_only -eq 1 ]]; then
  retention || die "$ZMANIM_EXIT_FATAL" "retention (restic forget --prune) failed"
  info "retention done"
  exit 0
fi

run_id="$(date -u +%Y%m%dT%H%M%SZ)-$$-$RANDOM"
run_started=0 run_committed=0
# forget_run: remove every snapshot tagged run:<id>. `restic forget --tag X` alone removes nothing (no
# policy given), so the ids are listed first; success means none is left.
forget_run() {
  local json
  local -a ids
  json=$(restic_cmd snapshots --json --tag "run:$run_id") || return 1
  mapfile -t ids < <(jq -r '(. // [])[].id' <<<"$json")
  if [[ ${#ids[@]} -gt 0 ]]; then
    restic_cmd forget "${ids[@]}" || return 1
  fi
  json=$(restic_cmd snapshots --json --tag "run:$run_id") || return 1
  [[ $(jq 'length' <<<"${json:-[]}") == 0 ]]
}
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup_run() {
  local rc=$?
  if [[ $rc -ne 0 && $run_started -eq 1 && $run_committed -eq 0 ]]; then
    err "run $run_id failed (exit $rc); removing every snapshot of this run"
    remove_stale_locks
    if forget_run; then
      info "snapshots of run $run_id removed; the previous complete run is still the latest"
    else
      err "could not remove the snapshots of run $run_id; they are NOT tagged complete and restore ignores them; remove them with: restic forget \$(restic snapshots --json --tag run:$run_id | jq -r '.[].id')"
    fi
  fi
  exit "$rc"
}
trap cleanup_run EXIT

has_stdin_from_command=0
if "${RESTIC:-restic}" backup --help 2>/dev/null | grep -q -- '--stdin-from-command'; then
  has_stdin_from_command=1
fi

# stream KIND FILENAME COMMAND...: save COMMAND's stdout as one snapshot; fail on any error.
stream() {
  local kind=$1 filename=$2
  shift 2
  local -a tags=(--tag "zmanim,$kind,run:$run_id")
  local rc=0
  info "saving $filename (run $run_id): $*"
  run_started=1
  if [[ $has_stdin_from_command -eq 1 ]]; then
    restic_cmd backup --stdin-from-command --stdin-filename "$filename" "${tags[@]}" -- "$@" || rc=$?
    [[ $rc -eq 0 ]] || die "$rc" "$filename: restic backup --stdin-from-command failed (exit $rc); see the messages above"
  else
    set +e
    "$@" | restic_cmd backup --stdin --stdin-filename "$filename" "${tags[@]}"
    local -a st=("${PIPESTATUS[@]}")
    set -e
    if [[ ${st[0]} -ne 0 ]]; then
      die "$ZMANIM_EXIT_FATAL" "$filename: '$1' failed (exit ${st[0]}); the partial snapshot of this run is removed"
    fi
    if [[ ${st[1]} -ne 0 ]]; then
      die "${st[1]}" "$filename: restic backup failed (exit ${st[1]})"
    fi
  fi
}

info "backup run $run_id to $RESTIC_REPOSITORY (restic --stdin-from-command: $([[ $has_stdin_from_command -eq 1 ]] && echo yes || echo no))"
stream postgres postgres.dump pg_dump --no-password -Fc -Z0 --dbname="$PGDATABASE"
stream postgres-globals postgres-globals.sql pg_dumpall --no-password --globals-only
stream redis redis.rdb redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" --no-auth-warning --rdb -
remove_stale_locks # `restic tag` needs an exclusive lock
restic_cmd tag --tag "run:$run_id" --add complete || die "$ZMANIM_EXIT_FATAL" "could not tag run $run_id complete"
run_committed=1
info "run $run_id complete"

if [[ -n ${ZMANIM_METRICS_NAMESPACE:-} ]]; then
  aws cloudwatch put-metric-data --namespace "$ZMANIM_METRICS_NAMESPACE" --metric-name BackupSuccess --value 1 --unit Count ||
    die "$ZMANIM_EXIT_FATAL" "the backup is saved, but publishing metric BackupSuccess to $ZMANIM_METRICS_NAMESPACE failed; the freshness alarm will fire"
  info "published $ZMANIM_METRICS_NAMESPACE BackupSuccess=1"
  # The restore drill's freshness, published daily so that its alarm can span 8 days (restore-drill.sh).
  drill_stamp=${ZMANIM_DRILL_STAMP:-/data/zmanim/restore-drill-passed}
  if [[ -r $drill_stamp ]] && passed=$(<"$drill_stamp") && [[ $passed =~ ^[0-9]+$ ]]; then
    age=$(($(date -u +%s) - passed))
    aws cloudwatch put-metric-data --namespace "$ZMANIM_METRICS_NAMESPACE" --metric-name RestoreDrillAgeSeconds --value "$age" --unit Seconds ||
      warn "publishing RestoreDrillAgeSeconds=$age failed; the restore-drill-stale alarm counts the gap as breaching"
  else
    warn "no passed restore drill recorded in $drill_stamp; RestoreDrillAgeSeconds not published (the restore-drill-stale alarm stays in ALARM until a drill passes)"
  fi
else
  warn "ZMANIM_METRICS_NAMESPACE is not set; no BackupSuccess metric published"
fi

retention || die "$ZMANIM_EXIT_FATAL" "retention (restic forget --prune) failed; the new snapshots are saved"

if [[ $check == yes || ($check == auto && $(date -u +%u) -eq 7) ]]; then
  week=$((10#$(date -u +%V)))
  n=$((week % subsets + 1))
  info "integrity check: restic check --read-data-subset=$n/$subsets (ISO week $week)"
  restic_cmd check --read-data-subset="$n/$subsets" || die "$ZMANIM_EXIT_FATAL" "restic check --read-data-subset=$n/$subsets found problems; run restic check --read-data and see docs/runbooks/restore.md"
fi
info "backup finished"
