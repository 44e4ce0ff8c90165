#!/usr/bin/env bash
# The whole test suite, in layers (README "Testing"):
#   0. install what is missing (npm ci, Debian packages)
#   1. type-check (tsc --noEmit) - jest itself runs without type-checking
#   2. synth the default environment (atomic; the same output ops reviewers plan)
#   3. unit + policy tests (jest project "unit"), the IAM sufficiency simulation ("iam"), lint (ESLint and the
#      import rules; jest project "lint" plants a violation of each rule)
#   4. real `terraform validate` of every stack and backend.tf.json
#   5. plan-mode `terraform test` of every stack of every environment, with mocked AWS providers
#   6. ops integration tests against real PostgreSQL, Redis, restic, systemd tooling, S3-compatible server
# Every layer runs even when an earlier one fails; the exit status is non-zero if any failed.
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
  local name=$1; shift
  echo
  echo "==> $name"
  if "$@"; then echo "<== $name: ok"; else echo "<== $name: FAILED"; failed_layers+=("$name"); fi
}

step typecheck npx tsc --noEmit
step synth npm run --silent synth
step unit npx jest --selectProjects unit --json --outputFile="$results/unit.json"
step iam npx jest --selectProjects iam --json --outputFile="$results/iam.json"
# shellcheck disable=SC2016 # $0 belongs to the inner bash
step lint bash -c 'npm run --silent lint && npx jest --selectProjects lint --json --outputFile="$0/lint.json"' "$results"
# shellcheck disable=SC2016 # $0 and PIPESTATUS belong to the inner bash
step terraform-validate bash -c 'bash scripts/dev/tf-validate.sh | tee "$0/validate.txt"; exit "${PIPESTATUS[0]}"' "$results"
# shellcheck disable=SC2016 # $0 and PIPESTATUS belong to the inner bash
step terraform-test bash -c 'bash scripts/dev/tf-test.sh --all-environments | tee "$0/plan.txt"; exit "${PIPESTATUS[0]}"' "$results"
# The scaled example environment (RDS, ElastiCache, the fleet) has stacks prod does not: validate them too.
step terraform-validate-scaled bash -c 'CDKTF_OUTDIR=cdktf.out.scaled node dist/main.js --env scaled && bash scripts/dev/tf-validate.sh cdktf.out.scaled/stacks/*'
if [[ $skip_ops -eq 0 ]]; then
  step ops npx jest --selectProjects ops --runInBand --json --outputFile="$results/ops.json"
fi

node scripts/dev/test-summary.js "$results" "${#failed_layers[@]}"
if [[ ${#failed_layers[@]} -gt 0 ]]; then
  echo "failed layers: ${failed_layers[*]}"
  exit 1
fi
