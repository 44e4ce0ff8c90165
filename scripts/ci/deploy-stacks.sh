#!/usr/bin/env bash
# Deploys synthesized stacks one at a time, in manifest dependency order (scripts/ci/deploy-order.js), with
# `cdktf deploy <stack> --skip-synth --auto-approve`. Stops at the first failure, so no stack is ever applied
# before a stack it depends on.
#
# Each stack runs within its first-apply budget (scripts/ci/deploy-budgets.json). Past it, Terraform gets
# SIGINT, which makes it stop gracefully: it saves the state and releases the lock (grace minutes later it is
# killed). Workflow timeouts are larger than the budgets, so GitHub never kills an apply mid-write.
# An interrupted apply: docs/runbooks/first-deploy.md, "An interrupted apply".
#
# Usage: scripts/ci/deploy-stacks.sh [--exclude STACK]... [--only STACK]...
#   --exclude STACK   skip a stack (the cicd stack is applied by an administrator, see docs/deploying.md)
#   --only STACK      deploy just these stacks (still in manifest order); repeatable
#   --dry-run         print the commands instead of running them
# Needs cdktf.out/ from `npm run synth` (or the synth job's artifact) and AWS credentials.
# Exit: 0 all deployed, 1 a stack failed or ran out of its budget, 2 bad usage (or a stack without a budget).
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

budgets=${DEPLOY_BUDGETS:-$root/scripts/ci/deploy-budgets.json}
grace=$(jq -r '.graceMinutes' "$budgets")
budget_of() { jq -r --arg s "${1#zmanim-*-}" '.stacks[$s].minutes // empty' "$budgets"; }
for s in "${stacks[@]}"; do
  if [[ -z "$(budget_of "$s")" ]]; then
    echo "deploy-stacks: $s has no budget in ${budgets#"$root"/}; add its first-apply minutes with a source" >&2
    exit 2
  fi
done

echo "deploy order: ${stacks[*]}"
for s in "${stacks[@]}"; do
  budget=$(budget_of "$s")
  cmd=(timeout --signal=INT --kill-after="${grace}m" "${budget}m"
    npx --no-install cdktf deploy "$s" --skip-synth --auto-approve --ignore-missing-stack-dependencies --no-color)
  if [[ $dry -eq 1 ]]; then echo "${cmd[*]}"; continue; fi
  echo "::group::deploy $s (budget ${budget} min)"
  start=$SECONDS
  rc=0
  (cd "$root" && "${cmd[@]}") || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "::endgroup::"
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      echo "deploy-stacks: $s ran past its budget of ${budget} min and was interrupted; later stacks were not deployed." >&2
      echo "deploy-stacks: check its lock and state before a retry: docs/runbooks/first-deploy.md, \"An interrupted apply\"" >&2
    else
      echo "deploy-stacks: $s failed; later stacks were not deployed" >&2
    fi
    exit 1
  fi
  echo "::endgroup::"
  echo "deployed $s in $((SECONDS - start)) s"
done
