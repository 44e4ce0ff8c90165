# shellcheck shell=bash
# Shared functions of the backup and restore scripts (backup.sh, restore.sh, restore-drill.sh,
# notify-failure.sh). Sourced, never run. Installed next to the scripts: /opt/zmanim/bin/lib/common.sh.
#
# Exit codes used by every script (restic's own meanings, from restic 0.17; restic 0.14 reports most
# failures as 1, so restic's error text is classified to the same codes):
#   0  success
#   1  fatal error; no snapshot was created (a failed run removes its own snapshots)
#   2  usage error (bad option or missing variable); nothing was done
#   3  restic could not read some source data (incomplete snapshot)
#  10  the repository does not exist (create it once with `backup.sh --init`)
#  11  the repository, or the backup lock file, is locked by another run
#  12  wrong repository password
#  13  verification failed (restore or drill: counts differ from the dump)

ZMANIM_EXIT_OK=0
ZMANIM_EXIT_FATAL=1
ZMANIM_EXIT_USAGE=2
ZMANIM_EXIT_NO_REPO=10
ZMANIM_EXIT_LOCKED=11
ZMANIM_EXIT_WRONG_PASSWORD=12
ZMANIM_EXIT_MISMATCH=13
export ZMANIM_EXIT_OK ZMANIM_EXIT_FATAL ZMANIM_EXIT_USAGE ZMANIM_EXIT_NO_REPO ZMANIM_EXIT_LOCKED \
  ZMANIM_EXIT_WRONG_PASSWORD ZMANIM_EXIT_MISMATCH

# log LEVEL MESSAGE...: one line on stderr with a UTC timestamp and the script's name. Under systemd,
# stderr goes to the journal of the unit.
log() {
  local level=$1
  shift
  printf '%s %s[%s] %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${ZMANIM_SCRIPT:-zmanim}" "$$" "$level" "$*" >&2
}
info() { log info "$@"; }
warn() { log warning "$@"; }
err() { log error "$@"; }

# die CODE MESSAGE...: log the error and exit with CODE.
die() {
  local code=$1
  shift
  err "$@"
  exit "$code"
}

# load_env: read ${ZMANIM_RESTIC_ENV_FILE:-/etc/restic/env} (KEY=value lines, as systemd's
# EnvironmentFile) and export each variable that is NOT already set in the environment. The file is
# parsed, never executed. A missing file is fine (the environment may carry everything).
load_env() {
  local file=${ZMANIM_RESTIC_ENV_FILE:-/etc/restic/env}
  if [[ ! -e $file ]]; then
    [[ -n ${REDISCLI_AUTH:-} ]] || unset REDISCLI_AUTH
    return 0
  fi
  [[ -r $file ]] || die "$ZMANIM_EXIT_USAGE" "cannot read $file (ZMANIM_RESTIC_ENV_FILE); run as root or point ZMANIM_RESTIC_ENV_FILE elsewhere"
  local line key value
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line#"${line%%[![:space:]]*}"}
    [[ -z $line || $line == \#* ]] && continue
    line=${line#export }
    [[ $line == *=* ]] || continue
    key=${line%%=*}
    value=${line#*=}
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [[ $value == \"*\" && ${#value} -ge 2 ]]; then
      value=${value:1:${#value}-2}
    elif [[ $value == \'*\' && ${#value} -ge 2 ]]; then
      value=${value:1:${#value}-2}
    fi
    if [[ -z ${!key+set} ]]; then
      export "$key=$value"
    fi
  done <"$file"
  # An empty REDISCLI_AUTH means "no password" (redis-cli would otherwise send AUTH with "").
  [[ -n ${REDISCLI_AUTH:-} ]] || unset REDISCLI_AUTH
}

# require_var NAME HINT: exit 2 with a clear message when NAME is unset or empty.
require_var() {
  local name=$1 hint=$2
  [[ -n ${!name:-} ]] || die "$ZMANIM_EXIT_USAGE" "$name is not set; $hint (set it in the environment or in ${ZMANIM_RESTIC_ENV_FILE:-/etc/restic/env})"
}

require_restic_config() {
  require_var RESTIC_REPOSITORY "it names the restic repository, e.g. s3:s3.us-east-1.amazonaws.com/zmanim-prod-backups"
  if [[ -z ${RESTIC_PASSWORD:-} && -z ${RESTIC_PASSWORD_FILE:-} && -z ${RESTIC_PASSWORD_COMMAND:-} ]]; then
    die "$ZMANIM_EXIT_USAGE" "none of RESTIC_PASSWORD, RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND is set; set one of them to the repository password"
  fi
  if [[ -n ${RESTIC_CACERT:-} && ! -r $RESTIC_CACERT ]]; then
    die "$ZMANIM_EXIT_USAGE" "RESTIC_CACERT=$RESTIC_CACERT is not a readable file; point it at the PEM certificate of the repository's TLS endpoint or unset it"
  fi
}

# restic_cmd ARGS...: run restic (${RESTIC:-restic}) with the global flags that older restic releases
# do not read from the environment (RESTIC_CACERT is read natively only from restic 0.16 on).
restic_cmd() {
  local -a global=()
  [[ -n ${RESTIC_CACERT:-} ]] && global+=(--cacert "$RESTIC_CACERT")
  "${RESTIC:-restic}" "${global[@]}" "$@"
}

# classify_restic_error CODE STDERR_FILE: map restic's exit status and error text to the exit codes
# above (restic 0.14 returns 1 for a missing repository and for a wrong password; 0.17 returns 10/12).
classify_restic_error() {
  local code=$1 file=$2
  case $code in
    0) echo 0; return ;;
    10 | 11 | 12 | 3) echo "$code"; return ;;
  esac
  if grep -qiE 'wrong password|no key found' "$file"; then
    echo "$ZMANIM_EXIT_WRONG_PASSWORD"
  elif grep -qiE 'repository is already locked|unable to create lock' "$file"; then
    echo "$ZMANIM_EXIT_LOCKED"
  elif grep -qiE 'key does not exist|NoSuchKey|NoSuchBucket|no such file or directory' "$file" &&
    grep -qi 'Is there a repository at the following location' "$file"; then
    echo "$ZMANIM_EXIT_NO_REPO"
  else
    echo "$ZMANIM_EXIT_FATAL"
  fi
}

# explain_exit CODE: one line that says what the code means and what to do.
explain_exit() {
  case $1 in
    "$ZMANIM_EXIT_NO_REPO") echo "no restic repository at RESTIC_REPOSITORY=$RESTIC_REPOSITORY; check the URL, or create the repository once with: backup.sh --init" ;;
    "$ZMANIM_EXIT_WRONG_PASSWORD") echo "wrong repository password for RESTIC_REPOSITORY=$RESTIC_REPOSITORY; check RESTIC_PASSWORD / RESTIC_PASSWORD_FILE (SSM /zmanim/<env>/restic-password)" ;;
    "$ZMANIM_EXIT_LOCKED") echo "the repository is locked by another restic process; wait, or after checking no backup runs: restic unlock" ;;
    *) echo "the repository at RESTIC_REPOSITORY=$RESTIC_REPOSITORY could not be used (network, credentials or TLS; see restic's message above)" ;;
  esac
}

# open_repo: check that the repository exists and that the password opens it. Fails fast (restic's own
# retries against an unreachable endpoint are bounded by ZMANIM_RESTIC_TIMEOUT seconds, default 120).
# Sets REPO_STATUS to one of the exit codes above and returns it.
open_repo() {
  local errfile rc=0
  errfile=$(mktemp)
  # shellcheck disable=SC2016 # $0 expands in the child shell
  timeout --kill-after=10 "${ZMANIM_RESTIC_TIMEOUT:-120}" bash -c 'source "$0"; restic_cmd cat config' "$ZMANIM_LIB" >/dev/null 2>"$errfile" || rc=$?
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "restic did not answer within ${ZMANIM_RESTIC_TIMEOUT:-120} s (ZMANIM_RESTIC_TIMEOUT)" >>"$errfile"
    rc=1
  fi
  REPO_STATUS=$(classify_restic_error "$rc" "$errfile")
  if [[ $REPO_STATUS -ne 0 ]]; then
    sed 's/^/restic: /' "$errfile" >&2
  fi
  rm -f "$errfile"
  return "$REPO_STATUS"
}

# Path of this file, for subshells that need the functions.
ZMANIM_LIB=${BASH_SOURCE[0]}

# resolve_run SNAPSHOT: SNAPSHOT is `latest` or a snapshot id (any snapshot of a run). Prints
# "<run tag> <time of the run's postgres.dump snapshot>" of the complete backup run it belongs to.
# `latest` means the newest run tagged `complete`; an explicit id of an incomplete run is refused.
resolve_run() {
  local snapshot=$1 json run
  if [[ $snapshot == latest ]]; then
    json=$(restic_cmd snapshots --json --tag zmanim,complete --path /postgres.dump) ||
      die "$ZMANIM_EXIT_FATAL" "could not list snapshots in $RESTIC_REPOSITORY"
    run=$(jq -r 'sort_by(.time) | last | (.tags // [])[] | select(startswith("run:"))' <<<"$json")
    [[ -n $run ]] || die "$ZMANIM_EXIT_FATAL" "no complete backup run in $RESTIC_REPOSITORY (restic snapshots --tag zmanim,complete lists none)"
  else
    [[ $snapshot =~ ^[0-9a-f]{8,64}$ ]] || die "$ZMANIM_EXIT_USAGE" "--snapshot '$snapshot' is neither 'latest' nor a snapshot id (8 to 64 hex digits from: restic snapshots)"
    json=$(restic_cmd snapshots --json "$snapshot") || die "$ZMANIM_EXIT_USAGE" "snapshot $snapshot not found in $RESTIC_REPOSITORY; list them with: restic snapshots --tag zmanim,complete"
    run=$(jq -r '.[0] | (.tags // [])[] | select(startswith("run:"))' <<<"$json")
    [[ -n $run ]] || die "$ZMANIM_EXIT_USAGE" "snapshot $snapshot has no run:<id> tag, so it was not made by backup.sh; pick one from: restic snapshots --tag zmanim,complete"
    jq -e '.[0].tags | index("complete")' <<<"$json" >/dev/null ||
      die "$ZMANIM_EXIT_USAGE" "snapshot $snapshot belongs to $run, which never completed (a failed run); pick one from: restic snapshots --tag zmanim,complete"
  fi
  json=$(restic_cmd snapshots --json --tag "$run" --path /postgres.dump) || die "$ZMANIM_EXIT_FATAL" "could not list the snapshots of $run"
  printf '%s %s\n' "$run" "$(jq -r '.[0].time // empty' <<<"$json")"
}

# snapshot_of RUN FILE: the id of the snapshot of RUN (a run:<id> tag) that holds FILE.
snapshot_of() {
  local run=$1 file=$2 json id
  json=$(restic_cmd snapshots --json --tag "$run" --path "/$file") || die "$ZMANIM_EXIT_FATAL" "could not list the snapshots of $run"
  id=$(jq -r 'sort_by(.time) | last | .id // empty' <<<"$json")
  [[ -n $id ]] || die "$ZMANIM_EXIT_FATAL" "backup run $run has no snapshot of $file"
  printf '%s\n' "$id"
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on (for scratch servers).
free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
    : "$i"
  done
  return 1
}
