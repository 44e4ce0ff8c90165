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

