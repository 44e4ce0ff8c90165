#!/usr/bin/env bash
# Deploys the synthesized stacks that changed: plans every stack (in parallel), then applies, one at a time in
# manifest dependency order (scripts/ci/deploy-order.js), only the stacks whose plan has changes. A stack whose
# plan is empty still goes through when a stack it reads from (terraform_remote_state) changed an output it
# uses: it is planned again after that apply, and applied when the new plan has changes. A plan that fails
# while a stack it depends on has changes (it may read an output that apply creates: a first deploy) is
# planned again after that apply too. Stops at the first failure, so no stack is ever applied before a stack
# it depends on.
#
# Plans use `terraform plan -detailed-exitcode` (0 no changes, 1 error, 2 changes:
# https://developer.hashicorp.com/terraform/cli/commands/plan#detailed-exitcode); the saved plan is what is
# applied, so nothing is applied that was not planned.
#
# Budgets (scripts/ci/deploy-budgets.json): each stack's plan, re-plan and apply together run within its budget,
# the first-apply `minutes` when the plan creates (or replaces) a resource, `routineMinutes` when it only
# updates or deletes; every plan within `planMinutes`. Past a budget, Terraform gets SIGINT, which makes it stop
# gracefully: it saves the state and releases the lock (grace minutes later it is killed). An interrupted
# apply: docs/runbooks/first-deploy.md, "An interrupted apply".
#
# Durations: how long each stack and the whole run took go to $GITHUB_STEP_SUMMARY (when set) and, with
# --metrics ENV, to CloudWatch (namespace Zmanim/Deploy: DeployDuration by Environment, StackDeployDuration
# by Environment and Stack, in seconds) after a successful deploy.
#
# Usage: scripts/ci/deploy-stacks.sh [--exclude STACK]... [--only STACK]... [--plan-only] [--metrics ENV]
#   --exclude STACK   skip a stack (the cicd stack is applied by an administrator, see docs/deploying.md)
#   --only STACK      deploy just these stacks (still in manifest order); repeatable
#   --plan-only       plan every stack and apply nothing: report drift (stacks and changed addresses)
#   --metrics ENV     send the durations to CloudWatch with the dimension Environment=ENV
#   --dry-run         print the commands instead of running them
# Needs cdktf.out/ from `npm run synth` (or the synth job's artifact), terraform and AWS credentials.
# Exit: 0 deployed (or, with --plan-only, no drift), 1 a plan or apply failed or ran out of its budget,
#       2 bad usage (or a stack without a budget), 3 --plan-only found drift.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
order_args=() only=() dry=0 plan_only=0 metrics_env=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --exclude) order_args+=(--exclude "${2:?--exclude needs a stack name}"); shift 2 ;;
    --only) only+=("${2:?--only needs a stack name}"); shift 2 ;;
    --plan-only) plan_only=1; shift ;;
    --metrics) metrics_env="${2:?--metrics needs an environment name}"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    *) echo "deploy-stacks: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done

outdir=${CDKTF_OUTDIR:-cdktf.out}
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
plan_minutes=$(jq -r '.planMinutes // empty' "$budgets")
budget_of() { jq -r --arg s "${1#zmanim-*-}" '.stacks[$s].minutes // empty' "$budgets"; }
routine_of() { jq -r --arg s "${1#zmanim-*-}" '.stacks[$s].routineMinutes // .stacks[$s].minutes // empty' "$budgets"; }
if [[ -z "$plan_minutes" ]]; then
  echo "deploy-stacks: ${budgets#"$root"/} has no planMinutes; add the minutes a plan may take with a source" >&2
  exit 2
fi
for s in "${stacks[@]}"; do
  if [[ -z "$(budget_of "$s")" ]]; then
    echo "deploy-stacks: $s has no budget in ${budgets#"$root"/}; add its first-apply minutes with a source" >&2
    exit 2
  fi
done
secs() { awk -v m="$1" 'BEGIN { printf "%d", m * 60 + 0.5 }'; }

# The Terraform commands, as functions so `timeout` can run them (through bash -c) with paths kept whole.
# TF_BIN is one word (a path without spaces), or "echo terraform" for --dry-run.
# (The bash -c scripts below are single-quoted: they expand their own "$1", hence SC2016 off there.)
export TF_BIN=${TERRAFORM:-terraform} DEPLOY_OUTDIR=$outdir
tf_init() { $TF_BIN -chdir="$DEPLOY_OUTDIR/stacks/$1" init -input=false -no-color; }
tf_plan() { $TF_BIN -chdir="$DEPLOY_OUTDIR/stacks/$1" plan -input=false -no-color -lock-timeout=60s -detailed-exitcode -out=tfplan; }
tf_apply() { $TF_BIN -chdir="$DEPLOY_OUTDIR/stacks/$1" apply -input=false -no-color -lock-timeout=60s tfplan; }
export -f tf_init tf_plan tf_apply

echo "deploy order: ${stacks[*]}"
if [[ $dry -eq 1 ]]; then
  TF_BIN="echo terraform"
  for s in "${stacks[@]}"; do tf_init "$s"; tf_plan "$s"; done
  if [[ $plan_only -eq 0 ]]; then for s in "${stacks[@]}"; do echo "$(tf_apply "$s")   # when its plan has changes"; done; fi
  exit 0
fi

work=$(mktemp -d)
run_start=$SECONDS
declare -A spent=() action=()
for s in "${stacks[@]}"; do spent[$s]=0; action[$s]="not reached"; done

summary() {
  local out=${GITHUB_STEP_SUMMARY:-}
  [[ -n "$out" ]] || return 0
  {
    if [[ $plan_only -eq 1 ]]; then echo "### Plan durations"; else echo "### Deploy durations"; fi
    echo
    echo "| stack | result | seconds |"
    echo "|---|---|---:|"
    for s in "${stacks[@]}"; do echo "| \`$s\` | ${action[$s]} | ${spent[$s]} |"; done
    echo "| **total** | | **$((SECONDS - run_start))** |"
  } >>"$out"
}
trap 'rc=$?; summary; rm -rf "$work"; exit $rc' EXIT

# Runs a command within SECONDS (SIGINT past it, killed a grace period later). Exit: the command's, or 124/137.
within() { local limit=$1; shift; timeout --signal=INT --kill-after="${grace}m" "${limit}s" "$@"; }

# plan STACK LIMIT: init + plan into the stack's directory; writes $work/STACK.rc and .secs, and from the saved
# plan only what is needed (no values): changed outputs, changed addresses, and whether anything is created.
plan() {
  local s=$1 limit=$2 start=$SECONDS rc=0
  {
    # shellcheck disable=SC2016
    within "$limit" bash -c 'tf_init "$1" >/dev/null && tf_plan "$1"' _ "$s" || rc=$?
    if [[ $rc -eq 2 || $rc -eq 0 ]]; then
      $TF_BIN -chdir="$outdir/stacks/$s" show -json tfplan | jq -c '{
        outputs: [(.output_changes // {}) | to_entries[] | select(.value.actions != ["no-op"]) | .key],
        addresses: [(.resource_changes // [])[] | select(.change.actions != ["no-op"] and .change.actions != ["read"])
          | "\(.address) (\(.change.actions | join("/")))"],
        creates: ([(.resource_changes // [])[] | select(.change.actions | index("create"))] | length > 0)
      }' >"$work/$s.json" || rc=1
    fi
  } >"$work/$s.log" 2>&1
  echo "$rc" >"$work/$s.rc"
  echo "$((SECONDS - start))" >"$work/$s.secs"
}

show_log() { echo "::group::plan $1 (exit $(cat "$work/$1.rc"))"; cat "$work/$1.log"; echo "::endgroup::"; }

# 1. Plans. The first stack's init fills an empty plugin cache before the others start (parallel inits race to
#    create it); then every stack plans at once: a no-op deploy costs one plan's time, not the sum.
plan_limit=$(secs "$plan_minutes")
init_start=$SECONDS
# shellcheck disable=SC2016
within "$plan_limit" bash -c 'tf_init "$1"' _ "${stacks[0]}" >"$work/init.log" 2>&1 || {
  rc=$?; cat "$work/init.log" >&2
  echo "deploy-stacks: terraform init of ${stacks[0]} failed (exit $rc); nothing was applied" >&2
  exit 1
}
# The first stack's budget pays for that init too: together, the stacks stay within the sum of their budgets.
first_init=$((SECONDS - init_start))
pids=()
for s in "${stacks[@]}"; do plan "$s" "$plan_limit" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || true; done

# A plan that failed while a stack it depends on has changes is deferred, not failed: it may read an output
# that only that apply creates (a first deploy, or a new output), so it is planned again after it (phase 2).
manifest="$outdir/manifest.json"
deps_of() { jq -r --arg s "$1" '.stacks[$s].dependencies[]?' "$manifest"; }
failed=() drifted=()
declare -A deferred=()
for s in "${stacks[@]}"; do
  rc=$(cat "$work/$s.rc")
  spent[$s]=$(cat "$work/$s.secs")
  [[ $s != "${stacks[0]}" ]] || spent[$s]=$(( spent[$s] + first_init ))
  show_log "$s"
  upstream_changes=""
  for dep in $(deps_of "$s"); do
    if [[ "${action[$dep]:-}" == changes || -n "${deferred[$dep]:-}" ]]; then upstream_changes=$dep; fi
  done
  case "$rc" in
    0) action[$s]="no changes" ;;
    2) action[$s]="changes"; drifted+=("$s") ;;
    124|137) action[$s]="plan interrupted"; failed+=("$s: its plan ran past ${plan_minutes} min and was interrupted") ;;
    *)
      if [[ $plan_only -eq 0 && -n "$upstream_changes" ]]; then
        action[$s]="plan deferred"; deferred[$s]=1
        echo "$s: plan failed while $upstream_changes, which it depends on, has changes; planning it again after that apply"
      else
        action[$s]="plan failed"; failed+=("$s: terraform plan failed (exit $rc)")
      fi ;;
  esac
done
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'deploy-stacks: %s\n' "${failed[@]}" >&2
  echo "deploy-stacks: nothing was applied; the plan logs are in the groups above" >&2
  exit 1
fi

if [[ $plan_only -eq 1 ]]; then
  report=$work/drift.md
  if [[ ${#drifted[@]} -eq 0 ]]; then
    echo "No drift: every plan of ${stacks[*]} is empty." | tee "$report"
  else
    {
      echo "### Drift: ${#drifted[@]} stack(s) differ from their configuration"
      echo
      for s in "${drifted[@]}"; do
        echo "- \`$s\`"
        jq -r '.addresses[] | "  - `\(.)`"' "$work/$s.json"
        jq -r '.outputs[] | "  - output `\(.)`"' "$work/$s.json"
      done
    } | tee "$report"
  fi
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then cat "$report" >>"$GITHUB_STEP_SUMMARY"; fi
  [[ ${#drifted[@]} -eq 0 ]] || exit 3
  exit 0
fi

# 2. Applies, in order. changed_outputs holds "stack output" for every output an applied plan changed.
changed_outputs=$work/changed-outputs
: >"$changed_outputs"
for s in "${stacks[@]}"; do
  rc=$(cat "$work/$s.rc")
  # Outputs of stacks applied in this run that this stack reads: its plan predates their new values.
  reads=$(node "$root/scripts/ci/deploy-order.js" --manifest "$manifest" --reads "$s") || exit 2
  stale=""
  if [[ -s "$changed_outputs" && -n "$reads" ]]; then stale=$(grep -xF -f "$changed_outputs" <<<"$reads" || true); fi
  if [[ $rc -eq 0 && -z "$stale" ]]; then
    echo "$s: no changes, not applied"
    continue
  fi
  budget=$(budget_of "$s")
  # A deferred plan has no JSON: its first-apply budget stands until the new plan says otherwise.
  [[ -n "${deferred[$s]:-}" ]] || jq -e '.creates' "$work/$s.json" >/dev/null || budget=$(routine_of "$s")
  if [[ -n "$stale" || -n "${deferred[$s]:-}" ]]; then
    if [[ -n "$stale" ]]; then
      echo "$s reads outputs changed in this deploy ($(echo "$stale" | tr '\n' ' ')); planning it again"
    else
      echo "$s: planning it again now that the stacks it depends on are applied"
    fi
    left=$(( $(secs "$budget") - spent[$s] ))
    (( left < plan_limit )) || left=$plan_limit
    plan "$s" "$(( left > 0 ? left : 1 ))"
    rc=$(cat "$work/$s.rc")
    spent[$s]=$(( spent[$s] + $(cat "$work/$s.secs") ))
    show_log "$s"
    if [[ $rc -ne 0 && $rc -ne 2 ]]; then
      action[$s]="re-plan failed"
      echo "deploy-stacks: $s: terraform plan failed (exit $rc) after the stacks it reads from changed; later stacks were not deployed" >&2
      exit 1
    fi
    if [[ $rc -eq 0 ]]; then action[$s]="no changes after re-plan"; echo "$s: no changes after re-plan, not applied"; continue; fi
    jq -e '.creates' "$work/$s.json" >/dev/null && budget=$(budget_of "$s")
  fi
  left=$(( $(secs "$budget") - spent[$s] ))
  echo "::group::apply $s (budget ${budget} min, ${spent[$s]} s spent planning)"
  start=$SECONDS
  rc=0
  if (( left > 0 )); then
    # shellcheck disable=SC2016
    within "$left" bash -c 'tf_apply "$1"' _ "$s" || rc=$?
  else
    rc=124
  fi
  spent[$s]=$(( spent[$s] + SECONDS - start ))
  echo "::endgroup::"
  if [[ $rc -ne 0 ]]; then
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      action[$s]="interrupted past its budget"
      echo "deploy-stacks: $s ran past its budget of ${budget} min and was interrupted; later stacks were not deployed." >&2
      echo "deploy-stacks: check its lock and state before a retry: docs/runbooks/first-deploy.md, \"An interrupted apply\"" >&2
    else
      action[$s]="apply failed"
      echo "deploy-stacks: $s failed; later stacks were not deployed" >&2
    fi
    exit 1
  fi
  action[$s]="applied"
  jq -r --arg s "$s" '.outputs[] | "\($s) \(.)"' "$work/$s.json" >>"$changed_outputs"
  echo "deployed $s in ${spent[$s]} s (plan and apply)"
done

total=$((SECONDS - run_start))
applied=0
for s in "${stacks[@]}"; do [[ ${action[$s]} != applied ]] || applied=$((applied + 1)); done
echo "deploy finished in $total s: $applied of ${#stacks[@]} stack(s) applied"

if [[ -n "$metrics_env" ]]; then
  data=$(
    for s in "${stacks[@]}"; do
      jq -nc --arg e "$metrics_env" --arg s "$s" --argjson v "${spent[$s]}" \
        '{MetricName: "StackDeployDuration", Unit: "Seconds", Value: $v, Dimensions: [{Name: "Environment", Value: $e}, {Name: "Stack", Value: $s}]}'
    done
    jq -nc --arg e "$metrics_env" --argjson v "$total" '{MetricName: "DeployDuration", Unit: "Seconds", Value: $v, Dimensions: [{Name: "Environment", Value: $e}]}'
  )
  # The deploy is done: a metric that cannot be sent is a warning, not a failed deploy.
  if ! aws cloudwatch put-metric-data --namespace Zmanim/Deploy --metric-data "$(jq -sc . <<<"$data")"; then
    echo "::warning::deploy-stacks: could not send the deploy durations to CloudWatch (Zmanim/Deploy)"
  fi
fi
