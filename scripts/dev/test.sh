#!/usr/bin/env bash
# The whole test suite, in layers (README "Testing"):
#   0. install what is missing (npm ci, Debian packages)
#   1. type-check (tsc --noEmit) - jest itself runs without type-checking
#   2. synth the default environment (atomic; the same output ops reviewers plan)
#   3. unit + policy tests (jest project "unit"), the IAM sufficiency simulation ("iam") and the lint tests
#      ("lint" plants a violation of each import rule), in one jest run; then ESLint, Prettier and the import
#      rules themselves (npm run lint)
#   4. real `terraform validate` of every stack and backend.tf.json
#   5. plan-mode `terraform test` of every stack of every environment, with mocked AWS providers
#   6. ops integration tests against real PostgreSQL, Redis, restic, systemd tooling, S3-compatible server
# Every layer runs even when an earlier one fails; the exit status is non-zero if any failed.
#
# The ops layer starts first, in the background, and layers 1-5 run beside it at a lower priority: its files
# spend a third of their time waiting on servers and processes, which the CPU-bound layers fill. Its log is
# printed when it ends. Layer times are wall clock while the two overlap (each layer alone is faster).
# Usage: scripts/dev/test.sh [--skip-ops]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
skip_ops=0
[[ "${1:-}" == "--skip-ops" ]] && skip_ops=1

bash scripts/dev/ensure-deps.sh || { echo "dependency installation failed" >&2; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
failed_layers=()
step() {
  local name=$1 t0=$SECONDS
  shift
  echo
  echo "==> $name"
  if $fg_nice "$@"; then
    echo "<== $name: ok ($((SECONDS - t0)) s)"
  else
    echo "<== $name: FAILED ($((SECONDS - t0)) s)"
    failed_layers+=("$name")
  fi
}

# Ops in the background: its own process group, so that an interrupted run stops it and every child. The
# layers beside it run at a lower priority (nice 10): they only compute, so they lose nothing while an ops
# test has work, and they fill the time it spends waiting; the ops layer, which waits, no longer ends last.
ops_pid=
fg_nice=
# The ops tests name their PostgreSQL directories after this run (__tests__/helpers/postgres.ts): pg_ctl puts each
# server in a session of its own, out of reach of the process group, so an interrupted run stops them here.
export ZMANIM_TEST_RUN="run$$"
stop_ops() {
  [[ -n "$ops_pid" ]] || return 0
  kill -- -"$ops_pid" 2>/dev/null
  local pid_file
  for pid_file in "${TMPDIR:-/tmp}"/zmanim-pg-"$ZMANIM_TEST_RUN"-*/data/postmaster.pid; do
    [[ -f "$pid_file" ]] || continue
    kill -QUIT "$(head -n 1 "$pid_file")" 2>/dev/null   # PostgreSQL's immediate shutdown
    rm -rf "${pid_file%/data/postmaster.pid}"
  done
}
if [[ $skip_ops -eq 0 ]]; then
  ops_start=$SECONDS
  set -m
  npx jest --selectProjects ops --json --outputFile="$results/ops.json" >"$results/ops.log" 2>&1 &
  ops_pid=$!
  set +m
  trap 'stop_ops; rm -rf "$results"' EXIT
  fg_nice="nice -n 10"
  echo "==> ops: started in the background (log at the end)"
fi

step typecheck npx tsc --noEmit
step synth npm run --silent synth
# One jest run for the three projects: one global synth, and both workers busy across them (the IAM
# simulation is one long file).
step unit-iam-lint npx jest --selectProjects unit iam lint --json --outputFile="$results/jest.json"
step lint npm run --silent lint
# shellcheck disable=SC2016 # $0 and PIPESTATUS belong to the inner bash
step terraform-validate bash -c 'bash scripts/dev/tf-validate.sh | tee "$0/validate.txt"; exit "${PIPESTATUS[0]}"' "$results"
# shellcheck disable=SC2016 # $0 and PIPESTATUS belong to the inner bash
step terraform-test bash -c 'bash scripts/dev/tf-test.sh --all-environments | tee "$0/plan.txt"; exit "${PIPESTATUS[0]}"' "$results"
# The scaled example environment (RDS, ElastiCache, the fleet) has stacks prod does not: validate them too.
step terraform-validate-scaled bash -c 'CDKTF_OUTDIR=cdktf.out.scaled node dist/main.js --env scaled && bash scripts/dev/tf-validate.sh cdktf.out.scaled/stacks/*'
if [[ -n "$ops_pid" ]]; then
  echo
  echo "==> ops (log follows once it ends)"
  ops_rc=0
  wait "$ops_pid" || ops_rc=$?
  ops_pid=
  cat "$results/ops.log"
  if [[ $ops_rc -eq 0 ]]; then
    echo "<== ops: ok ($((SECONDS - ops_start)) s, beside the layers above)"
  else
    echo "<== ops: FAILED ($((SECONDS - ops_start)) s, beside the layers above)"
    failed_layers+=(ops)
  fi
fi

node scripts/dev/test-summary.js "$results" "${#failed_layers[@]}"
if [[ ${#failed_layers[@]} -gt 0 ]]; then
  echo "failed layers: ${failed_layers[*]}"
  exit 1
fi
