#!/usr/bin/env bash
# Plan-mode `terraform test` of every synthesized stack, offline, with mocked AWS providers.
#
# Usage: scripts/tf-test.sh [--all-environments] [STACK ...]
#   Tests every stack under ${CDKTF_OUTDIR:-cdktf.out}/stacks (or the named ones). With --all-environments,
#   also synthesizes every other shipped environment of stacks/environments.ts (selectable or exported as an
#   example, like `scaled`) into a temporary directory and tests its stacks too.
#
# Each stack is copied (cdktf.out is never written), its backend removed, and a plan.tftest.hcl generated
# beside it by scripts/terraform/plan-tests.ts: mock providers, remote-state reads answered with exactly the
# producing stack's outputs, SSM reads, AWS-shaped ids and ARNs, and asserts on evaluated values. Then
# `terraform init` + `terraform test` (command = plan) per stack, in parallel. Verdict lines: PASS, FAIL
# (with terraform's diagnostics), SKIP (a provider that cannot be installed, with the reason).
#
# Environment:
#   ZMANIM_REQUIRE_TERRAFORM=1   fail (exit 3) when terraform is not installed, instead of warning
#   TF_PROVIDER_MIRROR=DIR       use this mirror instead of searching for one
#   TF_TEST_JOBS=N               parallel stacks (default: number of cores)
#
# Needs Terraform >= 1.11 (`override_during`). Exit: 0 all passed (or skipped), 1 any stack failed, 2 the
# tests could not be generated (or terraform is too old), 3 terraform missing while required.
# shellcheck disable=SC2317 # test_one runs through xargs bash -c, which shellcheck cannot follow
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
all_envs=0
if [[ "${1:-}" == "--all-environments" ]]; then all_envs=1; shift; fi

# shellcheck source=scripts/terraform/lib.sh
source "$root/scripts/terraform/lib.sh"
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
  if ! npx --no-install tsx scripts/terraform/synth-environments.ts "$work/envs" --except "$default_env" >"$work/envs.tsv" 2>"$work/synth.log"; then
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
  jq -n --arg v "$aws_version" '{terraform: {required_providers: {aws: ({source: "hashicorp/aws"} + (if $v == "" then {} else {version: $v} end))}}}' >"$work/schema/main.tf.json"
  if ! (cd "$work/schema" && terraform init -input=false -no-color >init.log 2>&1 && { [[ -s "$schema" ]] || terraform providers schema -json >"$schema.tmp"; }); then
    echo "FAIL    could not read the AWS provider's schema" >&2
    cat "$work/schema/init.log" >&2
    exit 2
  fi
  [[ -s "$schema" ]] || mv "$schema.tmp" "$schema"
fi

installable=${tf_mirrored_providers:-any}
dirs=()
for o in "${outdirs[@]}"; do
  into="$work/tests-$(basename "$o")"
  if ! npx --no-install tsx scripts/terraform/plan-tests-cli.ts --outdir "$o" --schema "$schema" --into "$into" --installable "$installable" "$@" >"$work/manifest.tsv"; then
    exit 2
  fi
  while IFS=$'\t' read -r stack verdict rest; do
    if [[ "$verdict" == "SKIP" ]]; then
      echo "$stack" >>"$work/skipped"
      printf 'SKIP    %s: %s\n' "$stack" "$rest" >"$work/result-$stack.txt"
    else
      dirs+=("$into/$stack")
      printf '%s\n' "$rest" >"$work/meta-$stack"
    fi
  done <"$work/manifest.tsv"
done

# Init and test one stack copy; prints a verdict line, stand-in notes, and on failure terraform's output.
test_one() {
  local dir=$1 name asserts notes
  name=$(basename "$dir")
  IFS=$'\t' read -r asserts notes <"$work/meta-$name"
  if ! (cd "$dir" && terraform init -input=false -no-color >init.log 2>&1); then
    echo "FAIL    $name: terraform init failed"
    sed 's/^/        /' "$dir/init.log"
    return 1
  fi
  if (cd "$dir" && terraform test -no-color >test.log 2>&1); then
    echo "PASS    $name (plan, $asserts assert(s))"
    [[ -z "$notes" ]] || tr ';' '\n' <<<"$notes" | sed 's/^ *//; s/^/        stand-in: /'
    return 0
  fi
  echo "FAIL    $name (plan, $asserts assert(s))"
  [[ -z "$notes" ]] || tr ';' '\n' <<<"$notes" | sed 's/^ *//; s/^/        stand-in: /'
  # Terraform's own output, without the blank lines and the box drawing of its diagnostics.
  grep -v '^[[:space:]]*$' "$dir/test.log" | sed 's/^/        /'
  return 1
}
export -f test_one
export work

jobs=${TF_TEST_JOBS:-$(nproc)}
if [[ ${#dirs[@]} -gt 0 ]]; then
  # shellcheck disable=SC2016 # $1 and $work expand in the inner bash
  printf '%s\n' "${dirs[@]}" | xargs -P "$jobs" -I{} bash -c 'test_one "$1" >"$work/result-$(basename "$1").txt" 2>&1; echo $? >"$work/rc-$(basename "$1")"' _ {} || true
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
