#!/usr/bin/env bash
# Prints `kind=s3` or `kind=cloud`: where the synthesized environment keeps its state, read from the stacks'
# own terraform blocks (an environment selects Terraform Cloud with state.kind "cloud", or ZMANIM_STATE_BACKEND).
# Every stack must agree. The workflows append the line to $GITHUB_OUTPUT and pick their S3 or Terraform
# Cloud steps with it (docs/runbooks/terraform-cloud.md).
#
# Usage: scripts/ci/state-backend.sh [CDKTF_OUT]   (default: cdktf.out)
# Exit: 0 printed; 2 no stacks, or stacks that disagree.
set -euo pipefail
out=${1:-cdktf.out}
kinds=$(for f in "$out"/stacks/*/cdk.tf.json; do
  [[ -f "$f" ]] || continue
  jq -r 'if .terraform.cloud then "cloud" elif .terraform.backend.s3 then "s3" else "other" end' "$f"
done | sort -u)
case "$kinds" in
  s3|cloud) echo "kind=$kinds" ;;
  "") echo "state-backend: no synthesized stacks under $out/stacks; run npm run synth first" >&2; exit 2 ;;
  *) echo "state-backend: the stacks under $out disagree on their backend ($(echo "$kinds" | tr '\n' ' ')); synthesize again" >&2; exit 2 ;;
esac
