#!/usr/bin/env bash
# Benchmarks (reported, never asserted):
#   1. synth of every stack of the default environment (single-box) and of the `scaled` example, from
#      compiled JS (`node dist/main.js --env <name>`):
#      median wall time (hyperfine) and peak RSS (GNU time, median of runs);
#   2. the unit-test suite (jest project "unit", no type-checking): median wall time.
# Budget (README, "Performance"): synth <= 1.5 s and <= 300 MB; unit tests <= 30 s.
# Usage: scripts/dev/bench.sh [--runs N]   (default 10 synth runs, 3 test runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
runs=10
if [[ "${1:-}" == "--runs" ]]; then runs=${2:?--runs needs a number}; fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
for tool in hyperfine /usr/bin/time jq; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing; run scripts/dev/ensure-deps.sh" >&2; exit 1; }
done

npm run --silent build
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CDKTF_OUTDIR="$out/cdktf.out"

# synth_bench ENV: median wall time, median peak RSS (KB), stack and resource counts of one environment.
synth_bench() {
  local env=$1 rss=() median rss_kb stacks resources
  echo "== synth (node dist/main.js --env $env, all stacks), $runs runs" >&2
  hyperfine --warmup 2 --runs "$runs" --export-json "$out/synth-$env.json" "node dist/main.js --env $env" >/dev/null
  median=$(jq '.results[0].median' "$out/synth-$env.json")
  for _ in $(seq 1 5); do
    /usr/bin/time -f '%M' -o "$out/rss" node dist/main.js --env "$env" >/dev/null
    rss+=("$(cat "$out/rss")")
  done
  rss_kb=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n '3p')
  stacks=$(find "$CDKTF_OUTDIR/stacks" -name cdk.tf.json | wc -l)
  resources=$(jq -s '[.[] | .resource // {} | to_entries[] | .value | length] | add' "$CDKTF_OUTDIR"/stacks/*/cdk.tf.json)
  echo "$median $rss_kb $stacks $resources"
}
# The default environment (single-box) and the scaled example (RDS, ElastiCache, the fleet).
read -r synth_median rss_median_kb stacks resources < <(synth_bench prod)
read -r scaled_median scaled_rss_kb scaled_stacks scaled_resources < <(synth_bench scaled)

echo "== unit tests (jest --selectProjects unit), 3 runs"
hyperfine --ignore-failure --runs 3 --export-json "$out/unit.json" 'npx jest --selectProjects unit --silent' >/dev/null
unit_median=$(jq '.results[0].median' "$out/unit.json")

printf '\n%-48s %s\n' "measure" "median"
printf '%-48s %.3f s  (budget 1.5 s)\n' "synth prod ($stacks stacks, $resources resources)" "$synth_median"
printf '%-48s %d MB  (budget 300 MB)\n' "synth prod peak RSS" "$((rss_median_kb / 1024))"
printf '%-48s %.3f s  (budget 1.5 s)\n' "synth scaled ($scaled_stacks stacks, $scaled_resources resources)" "$scaled_median"
printf '%-48s %d MB  (budget 300 MB)\n' "synth scaled peak RSS" "$((scaled_rss_kb / 1024))"
printf '%-48s %.1f s  (budget 30 s)\n' "unit-test suite wall time" "$unit_median"
echo "machine: $(nproc) cores, $(node --version), $(date -u +%Y-%m-%d)"
