#!/usr/bin/env bash
# Releases an API binary (deployment path 2): upload, point latest.txt at it, restart through SSM, check
# health; on any failure after latest.txt moved, point it back at the previous version and restart again.
#
# Usage: scripts/ci/release-api.sh --version V --bucket BUCKET --env NAME --health-url URL [--binary FILE]
#                                  [--attempts N] [--interval SECONDS] [--wait-seconds N]
#   --version V       release name, e.g. v1.4.2 (letters, digits, . _ + -)
#   --binary FILE     the linux/arm64 binary to upload as zmanim-api-V with zmanim-api-V.sha256. Without it,
#                     V must already be in the bucket (re-deploy or roll back to an earlier release).
#   --bucket BUCKET   the releases bucket (zmanim-<env>-releases-<account>)
#   --env NAME        environment tag of the instance (prod)
#   --health-url URL  checked after the restart, e.g. https://zmanim.shtetl.io/api/health
#   --attempts/--interval   health-check bounds (default 18 x 10 s)
#   --wait-seconds/--poll   SSM command wait (default 300 s, polled every 5 s)
# The box's update-binary.sh (ExecStartPre of zmanim-api.service) reads latest.txt, downloads the binary and
# verifies it against the .sha256 object, whose content is `sha256sum` output: "<hex>  zmanim-api-V".
# Exit: 0 released and healthy, 1 failed (rolled back when a previous version existed), 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
here=$(cd "$(dirname "$0")" && pwd)
version="" binary="" bucket="" env_name="" health_url="" attempts=18 interval=10 wait_seconds=300 poll=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --version) version=${2:-}; shift 2 ;;
    --binary) binary=${2:-}; shift 2 ;;
    --bucket) bucket=${2:-}; shift 2 ;;
    --env) env_name=${2:-}; shift 2 ;;
    --health-url) health_url=${2:-}; shift 2 ;;
    --attempts) attempts=${2:-}; shift 2 ;;
    --interval) interval=${2:-}; shift 2 ;;
    --wait-seconds) wait_seconds=${2:-}; shift 2 ;;
    --poll) poll=${2:-}; shift 2 ;;
    *) echo "release-api: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
fail_usage() { echo "release-api: $1" >&2; exit 2; }
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$ ]] || fail_usage "--version \"$version\" must be 1-64 of letters, digits, . _ + - (e.g. v1.4.2)"
[[ -n "$bucket" ]] || fail_usage "--bucket is required (the releases bucket, zmanim-<env>-releases-<account>)"
[[ -n "$env_name" ]] || fail_usage "--env is required (e.g. prod)"
[[ "$health_url" =~ ^https?:// ]] || fail_usage "--health-url \"$health_url\" must be an http(s) URL"
if [[ -n "$binary" && ! -f "$binary" ]]; then fail_usage "--binary \"$binary\" is not a file"; fi

key="zmanim-api-$version"
is_missing() { grep -qE 'Not Found|NoSuchKey|\(404\)' <<<"$1"; }

# 1. The version currently live, to roll back to.
if out=$(aws s3 cp "s3://$bucket/latest.txt" - 2>&1); then
  previous=$(tr -d '[:space:]' <<<"$out")
elif is_missing "$out"; then
  previous=""
else
  echo "release-api: cannot read s3://$bucket/latest.txt: $out" >&2
  exit 1
fi
echo "live version: ${previous:-none}; releasing: $version"

# 2. The binary and its checksum. A released version is immutable.
if [[ -n "$binary" ]]; then
  sum=$(sha256sum "$binary" | awk '{print $1}')
  if existing=$(aws s3 cp "s3://$bucket/$key.sha256" - 2>&1); then
    if [[ "$(awk '{print $1}' <<<"$existing")" != "$sum" ]]; then
      echo "release-api: $version is already released with a different binary; release it under a new version" >&2
      exit 1
    fi
    echo "$key is already in the bucket with the same checksum; not uploading again"
  elif is_missing "$existing"; then
    aws s3 cp "$binary" "s3://$bucket/$key" --no-progress
    printf '%s  %s\n' "$sum" "$key" | aws s3 cp - "s3://$bucket/$key.sha256"
    echo "uploaded $key (sha256 $sum)"
  else
    echo "release-api: cannot read s3://$bucket/$key.sha256: $existing" >&2
    exit 1
  fi
else
  if ! aws s3 cp "s3://$bucket/$key.sha256" - >/dev/null 2>&1; then
    echo "release-api: $key.sha256 is not in s3://$bucket; pass --binary to upload version $version" >&2
    exit 1
  fi
fi

activate() {
  printf '%s\n' "$1" | aws s3 cp - "s3://$bucket/latest.txt"
  echo "latest.txt -> $1"
  bash "$here/ssm-restart.sh" --env "$env_name" --wait-seconds "$wait_seconds" --poll "$poll" &&
    bash "$here/health-check.sh" "$health_url" --attempts "$attempts" --interval "$interval"
}

# 3. Go live; roll back on failure.
if activate "$version"; then
  echo "released $version"
  exit 0
fi
echo "release-api: $version failed the restart or the health check" >&2
if [[ -z "$previous" || "$previous" == "$version" ]]; then
  echo "release-api: no previous version to roll back to; the service needs attention" >&2
  exit 1
fi
echo "rolling back to $previous"
if activate "$previous"; then
  echo "release-api: rolled back to $previous; $version is NOT live" >&2
else
  echo "release-api: rollback to $previous failed too; follow docs/runbooks/binary-deploy.md" >&2
fi
exit 1
