#!/usr/bin/env bash
# Plan-mode `terraform test` of every synthesized stack, offline, with mocked AWS providers.
#
# Usage: scripts/dev/tf-test.sh [--all-environments] [STACK ...]
#   Tests every stack under ${CDKTF_OUTDIR:-cdktf.out}/stacks (or the named ones). With --all-environments,
#   also synthesizes every other shipped environment of constructs/config/environments.ts (selectable or exported as an
#   example, like `scaled`) into a temporary directory and tests its stacks too.
#
# Each stack is copied (cdktf.out is never written), its backend removed, and a <stack>.tftest.hcl generated
# by scripts/tools/terraform/plan-tests.ts, the copy as the run's module: mock providers, remote-state reads answered with exactly
# the producing stack's outputs, SSM reads, AWS-shaped ids and ARNs, and asserts on evaluated values. Then
# `terraform init` + `terraform test` (command = plan) once per environment, environments in parallel.
# Verdict lines per stack: PASS, FAIL (with terraform's diagnostics), SKIP (a provider that cannot be
# installed, with the reason).
#
# Environment:
#   ZMANIM_REQUIRE_TERRAFORM=1   fail (exit 3) when terraform is not installed, instead of warning
#   TF_PROVIDER_MIRROR=DIR       use this mirror instead of searching for one
#   TF_TEST_JOBS=N               parallel environments (default: number of cores)
#
# Needs Terraform >= 1.11 (`override_during`). Exit: 0 all passed (or skipped), 1 any stack failed, 2 the
# tests could not be generated (or terraform is too old), 3 terraform missing while required.
# shellcheck disable=SC2317,SC2016 # test_env runs through xargs bash -c, which shellcheck cannot follow
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
all_envs=0
if [[ "${1:-}" == "--all-environments" ]]; then all_envs=1; shift; fi

# shellcheck source=scripts/dev/terraform/lib.sh
source "$root/scripts/dev/terraform/lib.sh"
tf_require "no stack was planned."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tf_use_cli_config "$root" "$work"

# override_during = plan (values known while planning) arrived in Terraform 1.11.
tf_version=$(terraform version -json | jq -r .terraform_version)
if [[ "$(printf '%s\n1.11.0\n' "$tf_version" | sort -V | head -1)" != "1.11.0" ]]; then
  echo "terraform $tf_version is too old for the plan tests: they need >= 1.11 (override_during); install a newer terraform" >&2
  exit 2
fi

out="${CDKTF_OUTDIR:-cdktf.out}"
if ! compgen -G "$out/stacks/*/cdk.tf.json" >/dev/null; then
  echo "no synthesized stacks under $out/stacks; run 'npm run synth' first" >&2
  exit 2
fi
outdirs=("$out")
if [[ $all_envs -eq 1 ]]; then
  default_env=$(jq -r '[.stacks | keys[] | capture("^zmanim-(?<e>[a-z][a-z0-9]*)-").e] | first' "$out/manifest.json")
  if ! npx --no-install tsx scripts/tools/terraform/synth-environments.ts "$work/envs" --except "$default_env" >"$work/envs.tsv" 2>"$work/synth.log"; then
    echo "FAIL    the other environments could not be synthesized"
    sed 's/^/        /' "$work/synth.log"
    exit 2
  fi
  while IFS=$'\t' read -r _ dir; do outdirs+=("$dir"); done <"$work/envs.tsv"
fi

# The AWS provider's schema (ARN attributes per resource type), cached per provider and terraform version.
aws_version=$(jq -r -s '[.[].terraform.required_providers.aws.version // empty] | first // ""' "$out"/stacks/*/cdk.tf.json)
schema="$root/node_modules/.cache/terraform-schema/aws-${aws_version:-any}-tf$tf_version.json"
if [[ -z "$tf_mirrored_providers" && -z "${TF_PLUGIN_CACHE_DIR:-}" ]]; then
  # Providers from the registry: download each once into a cache that the parallel inits below only read
  # (the probe init fills it first, one at a time).
  export TF_PLUGIN_CACHE_DIR="$root/node_modules/.cache/terraform-plugins"
  mkdir -p "$TF_PLUGIN_CACHE_DIR"
fi
if [[ ! -s "$schema" || -n "${TF_PLUGIN_CACHE_DIR:-}" ]]; then
  mkdir -p "$work/schema" "$(dirname "$schema")"
  if [[ -n "$tf_mirrored_providers" ]]; then
    jq -n --arg v "$aws_version" '{terraform: {required_providers: {aws: ({source: "hashicorp/aws"} + (if $v == "" then {} else {version: $v} end))}}}' >"$work/schema/main.tf.json"
  else
    # From the registry: every provider any stack needs, so the cache holds them all before the parallel inits.
    stack_files=()
    for o in "${outdirs[@]}"; do stack_files+=("$o"/stacks/*/cdk.tf.json); done
    jq -s '{terraform: {required_providers: (map(.terraform.required_providers // {}) | add)}}' "${stack_files[@]}" >"$work/schema/main.tf.json"
  fi
  if ! (cd "$work/schema" && terraform init -input=false -no-color >init.log 2>&1 && { [[ -s "$schema" ]] || terraform providers schema -json >"$schema.tmp"; }); then
    echo "FAIL    could not read the AWS provider's schema" >&2
    cat "$work/schema/init.log" >&2
    exit 2
  fi
  [[ -s "$schema" ]] || mv "$schema.tmp" "$schema"
fi

installable=${tf_mirrored_providers:-any}
roots=()
for o in "${outdirs[@]}"; do
  into="$work/tests-$(basename "$o")"
  mkdir -p "$into"
  if ! npx --no-install tsx scripts/tools/terraform/plan-tests-cli.ts --outdir "$o" --schema "$schema" --into "$into" --installable "$installable" "$@" >"$into/manifest.tsv"; then
    exit 2
  fi
  while IFS=$'\t' read -r stack verdict rest; do
    if [[ "$verdict" == "SKIP" ]]; then printf 'SKIP    %s: %s\n' "$stack" "$rest" >"$work/result-$stack.txt"; fi
  done <"$into/manifest.tsv"
  [[ -f "$into/main.tf.json" ]] && roots+=("$into")
done

# One environment: init its test root once, run every stack's test file in one terraform process (the
# provider schema loads once), then split terraform's output into per-stack verdicts: a verdict line, stand-in notes,
# and on failure the run's diagnostics.
test_env() {
  local root=$1 stack verdict run asserts notes
  (cd "$root" && terraform init -input=false -no-color >init.log 2>&1)
  local init_rc=$?
  if [[ $init_rc -eq 0 ]]; then (cd "$root" && terraform test -no-color >test.log 2>&1); else : >"$root/test.log"; fi
  while IFS=$'\t' read -r stack verdict run asserts notes; do
    [[ "$verdict" == "RUN" ]] || continue
    local out="$work/result-$stack.txt" section
    # The lines from this run's status line up to the next run's (or the file's teardown).
    section=$(awk -v r="  run \"$run\"... " 'index($0, r) == 1 { on = 1; print; next } on && (/^  run "/ || /\.tftest\.hcl\.\.\. /) { on = 0 } on' "$root/test.log")
    verdict=$(head -1 <<<"$section" | sed -n 's/.*\.\.\. \([a-z]*\)$/\1/p')
    if [[ "$verdict" == "pass" ]]; then
      echo "PASS    $stack (plan, $asserts assert(s))" >"$out"
      echo 0 >"$work/rc-$stack"
    else
      echo "FAIL    $stack (plan, $asserts assert(s))" >"$out"
      echo 1 >"$work/rc-$stack"
    fi
    [[ -z "$notes" ]] || tr ';' '\n' <<<"$notes" | sed 's/^ *//; s/^/        stand-in: /' >>"$out"
    if [[ $init_rc -ne 0 ]]; then
      echo "        terraform init failed:" >>"$out"
      grep -v '^[[:space:]]*$' "$root/init.log" | sed 's/^/        /' >>"$out"
    elif [[ "$verdict" != "pass" ]]; then
      if [[ -n "$section" ]]; then
        grep -v '^[[:space:]]*$' <<<"$section" | sed 's/^/        /' >>"$out"
      else
        # No status line for this run: terraform stopped before it (an invalid test file or configuration).
        grep -v '^[[:space:]]*$' "$root/test.log" | sed 's/^/        /' >>"$out"
      fi
    fi
  done <"$root/manifest.tsv"
}
export -f test_env
export work

jobs=${TF_TEST_JOBS:-$(nproc)}
if [[ ${#roots[@]} -gt 0 ]]; then
  printf '%s\n' "${roots[@]}" | xargs -P "$jobs" -I{} bash -c 'test_env "$1"' _ {} || true
fi
passed=0 failed=0 skipped=0 status=0
for f in "$work"/result-*.txt; do
  [[ -e "$f" ]] || continue
  b=$(basename "$f" .txt); b=${b#result-}
  cat "$f"
  if grep -q '^SKIP' "$f"; then skipped=$((skipped + 1))
  elif [[ "$(cat "$work/rc-$b" 2>/dev/null || echo 1)" == "0" ]]; then passed=$((passed + 1))
  else failed=$((failed + 1)); status=1; fi
done
echo "terraform test (plan): $passed passed, $failed failed, $skipped skipped"
exit $status
