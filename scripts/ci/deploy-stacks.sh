#!/usr/bin/env bash
# Deploys synthesized stacks one at a time, in manifest dependency order (scripts/ci/deploy-order.js), with
# `cdktf deploy <stack> --skip-synth --auto-approve`. Stops at the first failure, so no stack is ever applied
# before a stack it depends on.
#
# Usage: scripts/ci/deploy-stacks.sh [--exclude STACK]... [--only STACK]...
#   --exclude STACK   skip a stack (the cicd stack is applied by an administrator, see docs/deploying.md)
#   --only STACK      deploy just these stacks (still in manifest order); repeatable
#   --dry-run         print the commands instead of running them
# Needs cdktf.out/ from `npm run synth` (or the synth job's artifact) and AWS credentials.
# Exit: 0 all deployed, 1 a stack failed, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
order_args=() only=() dry=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --exclude) order_args+=(--exclude "${2:?--exclude needs a stack name}"); shift 2 ;;
    --only) only+=("${2:?--only needs a stack name}"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    *) echo "deploy-stacks: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done

order=$(node "$root/scripts/ci/deploy-order.js" "${order_args[@]}") || exit 2
mapfile -t stacks <<<"$order"
if [[ ${#only[@]} -gt 0 ]]; then
  for o in "${only[@]}"; do
    if ! printf '%s\n' "${stacks[@]}" | grep -qxF -- "$o"; then
      echo "deploy-stacks: --only $o is not a stack in the deploy order (${stacks[*]})" >&2
      exit 2
    fi
  done
  selected=()
  for s in "${stacks[@]}"; do
    if printf '%s\n' "${only[@]}" | grep -qxF -- "$s"; then selected+=("$s"); fi
  done
  stacks=("${selected[@]}")
fi

echo "deploy order: ${stacks[*]}"
for s in "${stacks[@]}"; do
  cmd=(npx --no-install cdktf deploy "$s" --skip-synth --auto-approve --ignore-missing-stack-dependencies --no-color)
  if [[ $dry -eq 1 ]]; then echo "${cmd[*]}"; continue; fi
  echo "::group::deploy $s"
  start=$SECONDS
  if ! (cd "$root" && "${cmd[@]}"); then
    echo "::endgroup::"
    echo "deploy-stacks: $s failed; later stacks were not deployed" >&2
    exit 1
  fi
  echo "::endgroup::"
  echo "deployed $s in $((SECONDS - start)) s"
done
