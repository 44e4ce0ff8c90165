#!/usr/bin/env bash
# Publishes the AMI id of this Packer run to SSM, where the compute stack reads it. Runs on the machine that
# runs Packer, as the last post-processor (shell-local) after the manifest post-processor. Packer runs
# post-processors only for a build whose provisioners, the smoke test included, all succeeded.
#
# Usage: publish-ami-id.sh [--help]
#
# Settings (environment, set by the template):
#   ZMANIM_ENV        environment name; the parameter is /zmanim/<env>/ami-id
#   MANIFEST_PATH     the manifest post-processor's output file
#   AWS_REGION        region of the AMI and of the parameter
# Reads the build of the manifest's last run (packer_run_uuid == last_run_uuid), takes its artifact id
# ("<region>:ami-<hex>"), checks that the region matches, and overwrites the String parameter.
# Exit: 0 published; 1 the manifest holds no usable AMI id or SSM refused; 2 missing settings.
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
[[ $# -eq 0 ]] || { echo "publish-ami-id: unknown argument '$1'; see --help" >&2; exit 2; }
log() { printf 'publish-ami-id: %s\n' "$*" >&2; }
for v in ZMANIM_ENV MANIFEST_PATH AWS_REGION; do
  [[ -n "${!v:-}" ]] || { log "ERROR: $v is not set; the shell-local post-processor in packer/zmanim-ami.pkr.hcl passes it"; exit 2; }
done
[[ "$ZMANIM_ENV" =~ ^[a-z][a-z0-9-]*$ ]] || { log "ERROR: ZMANIM_ENV='$ZMANIM_ENV' is not an environment name (lowercase letters, digits, -)"; exit 2; }
[[ -s "$MANIFEST_PATH" ]] || { log "ERROR: manifest $MANIFEST_PATH is missing or empty; nothing was published"; exit 1; }

artifact=$(jq -er '.last_run_uuid as $run | [.builds[] | select(.packer_run_uuid == $run)] | last | .artifact_id' "$MANIFEST_PATH" 2>/dev/null) ||
  { log "ERROR: $MANIFEST_PATH has no build for its last run (last_run_uuid); nothing was published"; exit 1; }
# amazon-ebs artifact ids are "<region>:<ami>", comma-separated when copied to several regions.
ami=""
IFS=',' read -r -a pairs <<<"$artifact"
for pair in "${pairs[@]}"; do
  if [[ "${pair%%:*}" == "$AWS_REGION" ]]; then ami=${pair#*:}; fi
done
[[ "$ami" =~ ^ami-[0-9a-f]{8,17}$ ]] ||
  { log "ERROR: no AMI id for region $AWS_REGION in artifact '$artifact'; nothing was published"; exit 1; }

name="/zmanim/$ZMANIM_ENV/ami-id"
aws --region "$AWS_REGION" ssm put-parameter --name "$name" --type String --value "$ami" --overwrite \
  --description "AMI built by packer/zmanim-ami.pkr.hcl" >/dev/null ||
  { log "ERROR: ssm put-parameter $name failed; the AMI $ami exists but is not published (run this script again)"; exit 1; }
log "published $ami to $name"
echo "$ami"
