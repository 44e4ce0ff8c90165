#!/usr/bin/env bash
# Restarts the API on the environment's instance through SSM Run Command and waits for the result.
# The instance is targeted by its tags (Project=zmanim, Environment=<env>), never by a stored instance id,
# so a replaced instance is found without any lookup.
#
# Usage: scripts/ci/ssm-restart.sh --env NAME [--wait-seconds N] [--poll SECONDS]
#   --env NAME          environment tag value (e.g. prod)
#   --wait-seconds N    give up after N seconds (default 300)
#   --poll SECONDS      pause between status checks (default 5; fractions allowed)
# Uses the AWS CLI with the ambient credentials and AWS_REGION.
# Exit: 0 every targeted instance ran the command successfully, 1 failure or timeout, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
env_name="" wait_seconds=300 poll=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --env) env_name=${2:-}; shift 2 ;;
    --wait-seconds) wait_seconds=${2:-}; shift 2 ;;
    --poll) poll=${2:-}; shift 2 ;;
    *) echo "ssm-restart: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
if [[ ! "$env_name" =~ ^[a-z][a-z0-9]{1,15}$ ]]; then
  echo "ssm-restart: --env \"$env_name\" must be an environment name such as prod" >&2
  exit 2
fi
if [[ ! "$wait_seconds" =~ ^[0-9]+$ || "$wait_seconds" -lt 1 ]]; then
  echo "ssm-restart: --wait-seconds \"$wait_seconds\" must be a whole number >= 1" >&2
  exit 2
fi
if [[ ! "$poll" =~ ^[0-9]*\.?[0-9]+$ || "$poll" =~ ^0*\.?0*$ ]]; then
  echo "ssm-restart: --poll \"$poll\" must be a number of seconds > 0 (e.g. 5 or 0.5)" >&2
  exit 2
fi

command_id=$(aws ssm send-command \
  --document-name AWS-RunShellScript \
  --targets "Key=tag:Project,Values=zmanim" "Key=tag:Environment,Values=$env_name" \
  --parameters 'commands=["systemctl restart zmanim-api","systemctl is-active zmanim-api"]' \
  --comment "restart zmanim-api ($env_name)" \
  --timeout-seconds 120 \
  --query Command.CommandId --output text)
if [[ -z "$command_id" || "$command_id" == "None" ]]; then
  echo "ssm-restart: send-command returned no command id" >&2
  exit 1
fi
echo "sent restart command $command_id to instances tagged Project=zmanim, Environment=$env_name"

deadline=$((SECONDS + wait_seconds))
while :; do
  statuses=$(aws ssm list-command-invocations --command-id "$command_id" \
    --query 'CommandInvocations[].[InstanceId,Status]' --output text)
  if [[ -n "$statuses" && "$statuses" != "None" ]]; then
    pending=0 failed=0
    while read -r instance status; do
      [[ -z "$instance" ]] && continue
      case "$status" in
        Success) ;;
        Pending|InProgress|Delayed) pending=1 ;;
        *) failed=1; echo "ssm-restart: $instance: $status" >&2 ;;
      esac
    done <<<"$statuses"
    if [[ $failed -eq 1 ]]; then
      echo "ssm-restart: the restart failed on at least one instance (command $command_id)" >&2
      exit 1
    fi
    if [[ $pending -eq 0 ]]; then
      echo "restart succeeded on: $(awk '{print $1}' <<<"$statuses" | tr '\n' ' ')"
      exit 0
    fi
  fi
  if ((SECONDS >= deadline)); then
    if [[ -z "$statuses" || "$statuses" == "None" ]]; then
      echo "ssm-restart: no instance tagged Project=zmanim, Environment=$env_name took command $command_id" >&2
    else
      echo "ssm-restart: command $command_id did not finish within $wait_seconds s" >&2
    fi
    exit 1
  fi
  sleep "$poll"
done
