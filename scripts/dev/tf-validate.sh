#!/usr/bin/env bash
# Real `terraform validate` on every synthesized stack directory and on backend.tf.json.
#
# Usage: scripts/dev/tf-validate.sh [DIR ...]
#   With no arguments: every directory under ${CDKTF_OUTDIR:-cdktf.out}/stacks, plus backend.tf.json.
#   Each DIR must hold a cdk.tf.json (or any *.tf.json).
#
# Providers come from the local filesystem mirror when one exists (see scripts/dev/terraform/cli.tfrc.template),
# else from the public registry. A stack that needs a provider absent from the mirror is listed by name
# with the reason and counted as skipped; the unit and policy tests still cover it.
#
# Environment:
#   ZMANIM_REQUIRE_TERRAFORM=1   fail (exit 3) when terraform is not installed, instead of warning
#   TF_PROVIDER_MIRROR=DIR       use this mirror instead of searching for one
#   TF_VALIDATE_JOBS=N           parallel validations (default: number of cores)
#
# A warning fails like an error, except the deliberate dynamodb_table deprecation of S3 state (D3).
# Exit: 0 all valid (or skipped), 1 any invalid stack or unexpected warning, 3 terraform missing while required.
# shellcheck disable=SC2317 # validate_one runs through xargs bash -c, which shellcheck cannot follow
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

# shellcheck source=scripts/dev/terraform/lib.sh
source "$root/scripts/dev/terraform/lib.sh"
tf_require "no stack was validated."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tf_use_cli_config "$root" "$work"

dirs=("$@")
if [[ ${#dirs[@]} -eq 0 ]]; then
  out="${CDKTF_OUTDIR:-cdktf.out}"
  if ! compgen -G "$out/stacks/*/cdk.tf.json" >/dev/null; then
    echo "no synthesized stacks under $out/stacks; run 'npm run synth' first" >&2
    exit 1
  fi
  mkdir -p "$work/backend"
  cp backend.tf.json "$work/backend/"
  dirs=("$out"/stacks/* "$work/backend")
fi

# Validate one directory; prints a one-line verdict and every diagnostic. Runs in a private copy so the
# synthesized output is never modified.
validate_one() {
  local src=$1 name copy result
  name=$(basename "$src")
  [[ "$src" == "$work/backend" ]] && name="backend.tf.json"
  copy="$work/run-$name"
  mkdir -p "$copy"
  cp "$src"/*.tf.json "$copy/"
  local missing
  missing=$(tf_unmirrored_providers "$copy"/*.tf.json)
  if [[ -n "$missing" ]]; then
    echo "SKIP    $name: needs provider(s) not in the local mirror: $missing (covered by unit and policy tests)"
    return 0
  fi
  if ! (cd "$copy" && terraform init -backend=false -input=false -no-color >"$copy/init.log" 2>&1); then
    echo "INVALID $name: terraform init failed"
    sed 's/^/        /' "$copy/init.log"
    return 1
  fi
  # shellcheck disable=SC2015 # validate failing is read from its JSON, not its exit code
  result=$(cd "$copy" && terraform validate -json -no-color || true)
  local valid errors warnings unexpected
  valid=$(jq -r '.valid' <<<"$result")
  errors=$(jq -r '.error_count' <<<"$result")
  warnings=$(jq -r '.warning_count' <<<"$result")
  # A warning fails too (a deprecation today is an error in a later provider), except the one D3 keeps on
  # purpose: dynamodb_table beside use_lockfile in the S3 state config (terraform_remote_state reads warn).
  unexpected=$(jq '[.diagnostics[] | select(.severity == "warning") | select((.summary == "Deprecated Parameter" and (.detail | test("\"dynamodb_table\" is deprecated"))) | not)] | length' <<<"$result")
  if [[ "$valid" == "true" && "$unexpected" == "0" ]]; then
    echo "VALID   $name ($warnings warning(s))"
  elif [[ "$valid" == "true" ]]; then
    echo "WARNING $name ($unexpected unexpected warning(s) of $warnings)"
  else
    echo "INVALID $name ($errors error(s), $warnings warning(s))"
  fi
  jq -r '.diagnostics[] | "        \(.severity): \(.summary)\(if .range then " [\(.range.filename):\(.range.start.line)]" else "" end)\(if .detail and .detail != "" then "\n          " + (.detail | gsub("\n"; "\n          ")) else "" end)"' <<<"$result"
  [[ "$valid" == "true" && "$unexpected" == "0" ]]
}
export -f validate_one tf_unmirrored_providers
export work tf_mirrored_providers

jobs=${TF_VALIDATE_JOBS:-$(nproc)}
status=0
# The plugin cache is already full (tf_use_cli_config fills it under a lock), so the inits can run side by side.
# shellcheck disable=SC2016 # $1 and $work expand in the inner bash
printf '%s\n' "${dirs[@]}" | xargs -r -P "$jobs" -I{} bash -c 'validate_one "$1" >"$work/result-$(basename "$1").txt" 2>&1; echo $? >"$work/rc-$(basename "$1")"' _ {} || true
valid=0 invalid=0 skipped=0
for d in "${dirs[@]}"; do
  b=$(basename "$d")
  cat "$work/result-$b.txt"
  rc=$(cat "$work/rc-$b" 2>/dev/null || echo 1)
  if [[ "$rc" != "0" ]]; then invalid=$((invalid + 1)); status=1
  elif grep -q '^SKIP' "$work/result-$b.txt"; then skipped=$((skipped + 1))
  else valid=$((valid + 1)); fi
done
echo "terraform validate: $valid valid, $invalid invalid, $skipped skipped"
exit $status
