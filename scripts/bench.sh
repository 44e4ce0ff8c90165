#!/usr/bin/env bash
# Benchmarks (reported, never asserted):
#   1. synth of every stack of the default environment from compiled JS (`node dist/main.js`):
#      median wall time (hyperfine) and peak RSS (GNU time, median of runs);
#   2. the unit-test suite (jest project "unit", no type-checking): median wall time.
# Budget (README, "Performance"): synth <= 1.5 s and <= 300 MB; unit tests <= 30 s.
# Usage: scripts/bench.sh [--runs N]   (default 10 synth runs, 3 test runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=10
if [[ "${1:-}" == "--runs" ]]; then runs=${2:?--runs needs a number}; fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
for tool in hyperfine /usr/bin/time jq; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing; run scripts/ensure-deps.sh" >&2; exit 1; }
done

npm run --silent build
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CDKTF_OUTDIR="$out/cdktf.out"

echo "== synth (node dist/main.js, all stacks of prod), $runs runs"
hyperfine --warmup 2 --runs "$runs" --export-json "$out/synth.json" 'node dist/main.js' >/dev/null
synth_median=$(jq '.results[0].median' "$out/synth.json")
rss=()
for _ in $(seq 1 5); do
  /usr/bin/time -f '%M' -o "$out/rss" node dist/main.js >/dev/null
  rss+=("$(cat "$out/rss")")
done
rss_median_kb=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n '3p')
stacks=$(find "$CDKTF_OUTDIR/stacks" -name cdk.tf.json | wc -l)
resources=$(jq -s '[.[] | .resource // {} | to_entries[] | .value | length] | add' "$CDKTF_OUTDIR"/stacks/*/cdk.tf.json)

echo "== unit tests (jest --selectProjects unit), 3 runs"
hyperfine --ignore-failure --runs 3 --export-json "$out/unit.json" 'npx jest --selectProjects unit --silent' >/dev/null
unit_median=$(jq '.results[0].median' "$out/unit.json")

printf '\n%-40s %s\n' "measure" "median"
printf '%-40s %.3f s  (budget 1.5 s)\n' "synth wall time ($stacks stacks, $resources resources)" "$synth_median"
printf '%-40s %d MB  (budget 300 MB)\n' "synth peak RSS" "$((rss_median_kb / 1024))"
printf '%-40s %.1f s  (budget 30 s)\n' "unit-test suite wall time" "$unit_median"
echo "machine: $(nproc) cores, $(node --version), $(date -u +%Y-%m-%d)"
