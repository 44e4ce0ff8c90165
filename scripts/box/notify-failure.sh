#!/usr/bin/env bash
# Emails the admin through SES when a systemd unit fails (zmanim-notify-failure@<unit>.service, started
# by OnFailure= of the backup and restore-drill units). See --help.
set -euo pipefail
ZMANIM_SCRIPT=notify-failure.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/box/lib/common.sh
source "$here/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: notify-failure.sh [--lines N] [--dry-run] UNIT
       notify-failure.sh --help

Sends one email with `aws sesv2 send-email` from $ZMANIM_MAIL_FROM to $ZMANIM_ALARM_EMAIL. Subject:
"[zmanim] UNIT failed on HOST". Body: unit, host, time (UTC), the unit's state and result, the last
N lines of its log, and the commands to investigate.

Arguments and options:
  UNIT           the failed unit, e.g. zmanim-backup.service (systemd passes %i)
  --lines N      log lines to include (default 50)
  --dry-run      print the email instead of sending it
  -h, --help     show this help

Variables (the environment wins; /etc/restic/env only fills in what is not set):
  ZMANIM_MAIL_FROM        sender, an address of the SES-verified domain (required)
  ZMANIM_ALARM_EMAIL      recipient (required)
  AWS_DEFAULT_REGION      region of the SES identity (on EC2: credentials from the instance role)
  ZMANIM_LOG_COMMAND      command printing the unit's log; it gets UNIT and N appended
                          (default: journalctl --no-pager -o short-iso -u UNIT -n N)
  ZMANIM_RESTIC_ENV_FILE  the env file (default /etc/restic/env)

Exit status: 0 sent; 1 SES refused or could not be reached; 2 usage or configuration error.
EOF
}

lines=50 dry_run=0 unit=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --lines)
      [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "$ZMANIM_EXIT_USAGE" "--lines needs a positive number, got '${2:-}'"
      lines=$2
      shift
      ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "$ZMANIM_EXIT_USAGE" "unknown option '$1'; see notify-failure.sh --help" ;;
    *)
      [[ -z $unit ]] || die "$ZMANIM_EXIT_USAGE" "only one UNIT is accepted, got '$unit' and '$1'"
      unit=$1
      ;;
  esac
  shift
done
[[ -n $unit ]] || die "$ZMANIM_EXIT_USAGE" "missing UNIT (the failed unit's name, e.g. zmanim-backup.service); see --help"
[[ $unit =~ ^[A-Za-z0-9@:._\\-]+$ ]] || die "$ZMANIM_EXIT_USAGE" "UNIT '$unit' is not a systemd unit name"

load_env
require_var ZMANIM_MAIL_FROM "it is the sender address on the SES-verified domain, e.g. ZMANIM_MAIL_FROM=alerts@zmanim.example"
require_var ZMANIM_ALARM_EMAIL "it is the admin address that receives failure mail"

host=$(hostname -f 2>/dev/null || hostname)
now=$(date -u +'%Y-%m-%d %H:%M:%S UTC')
state="unknown"
if command -v systemctl >/dev/null 2>&1; then
  state=$(systemctl show -p ActiveState -p Result -p ExecMainStatus --value "$unit" 2>/dev/null | paste -sd' ' -) || state="unknown"
fi
if [[ -n ${ZMANIM_LOG_COMMAND:-} ]]; then
  read -r -a log_cmd <<<"$ZMANIM_LOG_COMMAND"
else
  log_cmd=(journalctl --no-pager -o short-iso -u)
fi
if [[ -n ${ZMANIM_LOG_COMMAND:-} ]]; then
  logs=$("${log_cmd[@]}" "$unit" "$lines" 2>&1 | tail -n "$lines") || true
else
  logs=$("${log_cmd[@]}" "$unit" -n "$lines" 2>&1 | tail -n "$lines") || true
fi

subject="[zmanim] $unit failed on $host"
body="$unit failed on $host at $now.

State (ActiveState Result ExecMainStatus): ${state:-unknown}

Last $lines log lines:
${logs:-(no log lines available)}

Investigate on the box (SSM Session Manager):
  journalctl -u $unit -n 200
  systemctl status $unit
Restore procedures: docs/runbooks/restore.md"

if [[ $dry_run -eq 1 ]]; then
  printf 'From: %s\nTo: %s\nSubject: %s\n\n%s\n' "$ZMANIM_MAIL_FROM" "$ZMANIM_ALARM_EMAIL" "$subject" "$body"
  exit 0
fi

content=$(jq -n --arg s "$subject" --arg b "$body" '{Simple: {Subject: {Data: $s, Charset: "UTF-8"}, Body: {Text: {Data: $b, Charset: "UTF-8"}}}}')
aws sesv2 send-email --from-email-address "$ZMANIM_MAIL_FROM" \
  --destination "ToAddresses=$ZMANIM_ALARM_EMAIL" --content "$content" >/dev/null ||
  die "$ZMANIM_EXIT_FATAL" "SES did not accept the failure email for $unit (aws sesv2 send-email failed); the failure is still in the journal"
info "failure email for $unit sent to $ZMANIM_ALARM_EMAIL"
