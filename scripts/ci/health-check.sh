#!/usr/bin/env bash
# Polls a health URL until it answers 2xx, with a bounded number of attempts.
#
# Usage: scripts/ci/health-check.sh URL [--attempts N] [--interval SECONDS] [--timeout SECONDS]
#   --attempts N         tries before giving up (default 30)
#   --interval SECONDS   pause between tries (default 10; fractions allowed)
#   --timeout SECONDS    per-request timeout (default 10)
# A deploy normally reaches health through CloudFront: https://<site>/api/health.
# Exit: 0 healthy, 1 never healthy within the attempts, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
url="" attempts=30 interval=10 timeout=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --attempts) attempts=${2:?--attempts needs a number}; shift 2 ;;
    --interval) interval=${2:?--interval needs seconds}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    -*) echo "health-check: unknown option $1; see --help" >&2; exit 2 ;;
    *) url=$1; shift ;;
  esac
done
if [[ ! "$url" =~ ^https?:// ]]; then
  echo "health-check: URL \"$url\" must start with http:// or https:// (e.g. https://zmanim.shtetl.io/api/health)" >&2
  exit 2
fi
for n in attempts timeout; do
  if [[ ! "${!n}" =~ ^[0-9]+$ || "${!n}" -lt 1 ]]; then
    echo "health-check: --$n \"${!n}\" must be a whole number >= 1" >&2
    exit 2
  fi
done
if [[ ! "$interval" =~ ^[0-9]*\.?[0-9]+$ || "$interval" =~ ^0*\.?0*$ ]]; then
  echo "health-check: --interval \"$interval\" must be a number of seconds > 0 (e.g. 10 or 0.5)" >&2
  exit 2
fi

for ((i = 1; i <= attempts; i++)); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$timeout" -H 'Cache-Control: no-cache' "$url" 2>/dev/null) || code=000
  if [[ "$code" =~ ^2[0-9][0-9]$ ]]; then
    echo "healthy: $url answered $code (attempt $i/$attempts)"
    exit 0
  fi
  echo "not healthy yet: $url answered $code (attempt $i/$attempts)"
  if ((i < attempts)); then sleep "$interval"; fi
done
echo "health-check: $url was not healthy after $attempts attempts" >&2
exit 1
