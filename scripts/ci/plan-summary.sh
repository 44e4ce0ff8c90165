#!/usr/bin/env bash
# Summarises per-stack terraform plans as Markdown (for $GITHUB_STEP_SUMMARY and the pull request comment).
#
# Usage: scripts/ci/plan-summary.sh DIR
#   DIR holds, per stack, <stack>.txt (the `terraform plan` / `terraform show` text) and <stack>.exitcode
#   (plan -detailed-exitcode: 0 no changes, 2 changes, anything else failed). Files may sit in subdirectories
#   (one per downloaded artifact).
# Prints the Markdown to stdout. Exit: 0 every plan ran, 1 any plan failed or is missing its text, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then usage; exit 0; fi
dir=${1:-}
if [[ -z "$dir" || ! -d "$dir" ]]; then echo "plan-summary: DIR \"$dir\" is not a directory; see --help" >&2; exit 2; fi

mapfile -t codes < <(find "$dir" -name '*.exitcode' | sort)
if [[ ${#codes[@]} -eq 0 ]]; then echo "plan-summary: no <stack>.exitcode files under $dir" >&2; exit 2; fi

status=0
echo "### Terraform plan"
echo
echo "| stack | result | add | change | destroy |"
echo "|---|---|---:|---:|---:|"
for f in "${codes[@]}"; do
  stack=$(basename "$f" .exitcode)
  txt="${f%.exitcode}.txt"
  code=$(tr -d '[:space:]' <"$f")
  add="" change="" destroy=""
  if [[ ! -f "$txt" ]]; then
    result="no plan output"; status=1
  elif [[ "$code" == 0 ]]; then
    result="no changes"
  elif [[ "$code" == 2 ]]; then
    line=$(grep -Eo 'Plan: [0-9]+ to add, [0-9]+ to change, [0-9]+ to destroy' "$txt" | tail -1 || true)
    if [[ -n "$line" ]]; then
      read -r add change destroy < <(sed -E 's/Plan: ([0-9]+) to add, ([0-9]+) to change, ([0-9]+) to destroy/\1 \2 \3/' <<<"$line")
      result="changes"
      if [[ "$destroy" != 0 ]]; then result="changes, **destroys $destroy**"; fi
    else
      result="changes (outputs only)"
    fi
  else
    result="**plan failed** (exit $code)"; status=1
  fi
  echo "| \`$stack\` | $result | ${add:--} | ${change:--} | ${destroy:--} |"
done
echo
echo "Plans are attached to the workflow run as artifacts (text only; sensitive values are redacted)."
exit $status
