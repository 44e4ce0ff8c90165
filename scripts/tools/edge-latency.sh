#!/usr/bin/env bash
# Measures the site's public URLs from where it runs: for each URL, N requests with curl, reporting the cache
# status CloudFront gives (x-cache: Hit/Miss/RefreshHit from cloudfront), the edge location (x-amz-cf-pop),
# time to first byte and total time, each as median and p95 (nearest rank) in milliseconds.
#
# Usage: scripts/tools/edge-latency.sh (--site NAME | --url LABEL=URL...) [-n N] [--cold] [--cacert FILE] [--tsv]
#   --site NAME     the four URLs of the epic's latency targets, for the site NAME (e.g. zmanim.shtetl.io):
#                     page          https://NAME/
#                     asset         the first /_next/static/ file the page references
#                     api-cached    https://api.NAME/api/v1/zmanim?lat=31.7683&lng=35.2137&date=<today, UTC>
#                     api-uncached  https://NAME/api/health (never cached: the health behaviour)
#   --url LABEL=URL measure this URL under LABEL instead (repeatable)
#   -n N            requests per URL (default 20); the first warms the edge cache and the connection
#   --cold          a new connection (DNS, TCP, TLS) for every request, as a first visit sees it; by default one
#                   connection is reused for a URL's N requests, as a browser reuses it for a page's requests
#   --cacert FILE   trust this CA (a test server); --insecure is not offered
#   --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT (curl --resolve; e.g. one edge location's address
#                   from `dig`, or a test server); repeatable
#   --tsv           one line per URL: label, n, hits, misses, other, pop, ttfb_median, ttfb_p95, total_median, total_p95
# Run it from where the users are (docs/runbooks/cutover.md, "Edge latency"): the epic's targets are
# < 50 ms for cached responses at the edge (ttfb of a Hit, warm connection) and < 200 ms at the origin.
# Exit: 0 measured, 1 a URL never answered (or answered 5xx every time), 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
n=20 cold=0 tsv=0 site="" cacert="" labels=() urls=() resolve=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --site) site=${2:-}; shift 2 ;;
    --url)
      [[ "${2:-}" =~ ^([A-Za-z0-9_.-]+)=(https?://.+)$ ]] || { echo "edge-latency: --url \"${2:-}\" must be LABEL=https://..." >&2; exit 2; }
      labels+=("${BASH_REMATCH[1]}"); urls+=("${BASH_REMATCH[2]}"); shift 2 ;;
    -n) n=${2:-}; shift 2 ;;
    --cold) cold=1; shift ;;
    --cacert) cacert=${2:-}; shift 2 ;;
    --resolve)
      [[ "${2:-}" =~ ^[A-Za-z0-9.-]+:[0-9]+:[0-9A-Fa-f.:]+$ ]] || { echo "edge-latency: --resolve \"${2:-}\" must be HOST:PORT:ADDR" >&2; exit 2; }
      resolve+=(--resolve "$2"); shift 2 ;;
    --tsv) tsv=1; shift ;;
    *) echo "edge-latency: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 1000 ]] || { echo "edge-latency: -n \"$n\" must be a whole number from 1 to 1000" >&2; exit 2; }
[[ -z "$cacert" || -f "$cacert" ]] || { echo "edge-latency: --cacert \"$cacert\" is not a file" >&2; exit 2; }
curl_opts=(--silent --show-error --max-time 20 --compressed -H "Accept-Encoding: gzip, br")
[[ -z "$cacert" ]] || curl_opts+=(--cacert "$cacert")
curl_opts+=("${resolve[@]}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ -n "$site" ]]; then
  [[ "$site" =~ ^[a-z0-9.-]+(:[0-9]+)?$ ]] || { echo "edge-latency: --site \"$site\" must be a host name, e.g. zmanim.shtetl.io" >&2; exit 2; }
  labels+=(page); urls+=("https://$site/")
  asset=$(curl "${curl_opts[@]}" "https://$site/" | grep -o '/_next/static/[^"'"'"' )]*' | head -n 1 || true)
  if [[ -n "$asset" ]]; then labels+=(asset); urls+=("https://$site$asset"); else echo "edge-latency: no /_next/static/ file found in https://$site/; asset skipped" >&2; fi
  labels+=(api-cached); urls+=("https://api.$site/api/v1/zmanim?lat=31.7683&lng=35.2137&date=$(date -u +%F)")
  labels+=(api-uncached); urls+=("https://$site/api/health")
fi
[[ ${#urls[@]} -gt 0 ]] || { echo "edge-latency: give --site NAME or at least one --url LABEL=URL; see --help" >&2; exit 2; }

# p-th percentile (nearest rank) of the numbers on stdin, in ms with no decimals.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%d\n", v[i] * 1000 + 0.5 }'; }

status=0
if [[ $tsv -eq 0 ]]; then
  printf '%-14s %4s  %-22s %-7s %8s %8s %8s %8s\n' url n "x-cache (hit/miss/other)" pop "ttfb p50" "ttfb p95" "total p50" "total p95"
fi
for i in "${!urls[@]}"; do
  label=${labels[$i]} url=${urls[$i]}
  : >"$work/times" ; : >"$work/headers"
  fmt='%{http_code} %{time_starttransfer} %{time_total}\n'
  if [[ $cold -eq 1 ]]; then
    for ((k = 0; k < n; k++)); do
      curl "${curl_opts[@]}" -o /dev/null -D - -w "$fmt" "$url" >>"$work/raw" 2>>"$work/err" || true
    done
  else
    args=()
    for ((k = 0; k < n; k++)); do args+=(-o /dev/null "$url"); done
    curl "${curl_opts[@]}" -D - -w "$fmt" "${args[@]}" >>"$work/raw" 2>>"$work/err" || true
  fi
  # Headers and the -w line interleave per transfer: split them.
  tr -d '\r' <"$work/raw" | awk -v times="$work/times" -v headers="$work/headers" '
    /^[0-9][0-9][0-9] [0-9.]+ [0-9.]+$/ { print > times; next }
    { print > headers }'
  rm -f "$work/raw"
  answered=$(awk '$1 != "000"' "$work/times" | wc -l)
  ok=$(awk '$1 ~ /^[234]/' "$work/times" | wc -l)
  if [[ "$answered" -eq 0 || "$ok" -eq 0 ]]; then
    echo "edge-latency: $label ($url) did not answer successfully in $n request(s): $(head -n 1 "$work/err" 2>/dev/null)" >&2
    status=1
  fi
  hits=$(grep -ci '^x-cache: *\(hit\|refreshhit\) from cloudfront' "$work/headers" || true)
  misses=$(grep -ci '^x-cache: *miss from cloudfront' "$work/headers" || true)
  other=$(( answered - hits - misses ))
  pop=$({ grep -i '^x-amz-cf-pop:' "$work/headers" || true; } | awk '{ print $2 }' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
  ttfb50=$(awk '$1 != "000" { print $2 }' "$work/times" | pct 50)
  ttfb95=$(awk '$1 != "000" { print $2 }' "$work/times" | pct 95)
  tot50=$(awk '$1 != "000" { print $3 }' "$work/times" | pct 50)
  tot95=$(awk '$1 != "000" { print $3 }' "$work/times" | pct 95)
  if [[ $tsv -eq 1 ]]; then
    printf '%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n' "$label" "$answered" "$hits" "$misses" "$other" "${pop:--}" "$ttfb50" "$ttfb95" "$tot50" "$tot95"
  else
    printf '%-14s %4d  %-22s %-7s %6s ms %6s ms %6s ms %6s ms\n' "$label" "$answered" "$hits/$misses/$other" "${pop:--}" "$ttfb50" "$ttfb95" "$tot50" "$tot95"
  fi
done
exit "$status"
