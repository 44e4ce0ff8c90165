#!/usr/bin/env bash
# Waits for the instance refresh Terraform started on an Auto Scaling group, and fails unless it succeeds.
# The provider starts the refresh but does not wait for it, so without this a deploy shows green whatever the
# refresh does. A rolled-back refresh fails too: the provider updates the group's launch template before it
# starts the refresh, so Auto Scaling's auto-rollback goes back to the NEW version (terraform-provider-aws issue
# #34189); the real rollback is to publish the previous AMI id and deploy again (ami.yml does; runbook:
# docs/runbooks/scale-out.md, "A failed instance refresh").
#
# Usage: scripts/ci/wait-instance-refresh.sh --group NAME [--since TIME] [--wait-seconds N] [--poll SECONDS]
#   --group NAME        the Auto Scaling group (node scripts/ci/ami-consumers.js groups)
#   --since TIME        only a refresh started at or after TIME (UTC, 2026-12-07T21:40:00Z), e.g. the deploy's
#                       start; without a refresh since then (nothing changed) there is nothing to wait for
#   --wait-seconds N    give up after N seconds (default 1800)
#   --poll SECONDS      pause between status checks (default 15; fractions allowed)
# Reads `aws autoscaling describe-instance-refreshes` (statuses per the InstanceRefresh API reference:
# https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstanceRefresh.html). Needs jq.
# Exit: 0 the refresh succeeded (or none started since TIME), 1 it failed, was cancelled or rolled back, or
# is still running at the deadline, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
group="" since="" wait_seconds=1800 poll=15
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --group) group=${2:-}; shift 2 ;;
    --since) since=${2:-}; shift 2 ;;
    --wait-seconds) wait_seconds=${2:-}; shift 2 ;;
    --poll) poll=${2:-}; shift 2 ;;
    *) echo "wait-instance-refresh: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
if [[ ! "$group" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$ ]]; then
  echo "wait-instance-refresh: --group \"$group\" must be an Auto Scaling group name such as zmanim-prod-api" >&2
  exit 2
fi
if [[ -n "$since" && ! "$since" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]; then
  echo "wait-instance-refresh: --since \"$since\" must be a UTC time like 2026-12-07T21:40:00Z (date -u +%Y-%m-%dT%H:%M:%SZ)" >&2
  exit 2
fi
if [[ ! "$wait_seconds" =~ ^[0-9]+$ || "$wait_seconds" -lt 1 ]]; then
  echo "wait-instance-refresh: --wait-seconds \"$wait_seconds\" must be a whole number >= 1" >&2
  exit 2
fi
if [[ ! "$poll" =~ ^[0-9]*\.?[0-9]+$ || "$poll" =~ ^0*\.?0*$ ]]; then
  echo "wait-instance-refresh: --poll \"$poll\" must be a number of seconds > 0 (e.g. 15 or 0.5)" >&2
  exit 2
fi

# The newest refresh started at or after --since, as "id<TAB>status<TAB>percentage<TAB>reason"; empty if none.
# StartTime comes as 2026-12-07T21:40:12.345000+00:00 (CLI JSON output): its first 19 characters are UTC.
# A Pending refresh may have no StartTime yet: it counts as the newest.
newest() {
  jq -r --arg since "$since" '
    def t: if . == null then 1e12 else (.[0:19] + "Z" | fromdateiso8601) end;
    [.InstanceRefreshes[]? | select($since == "" or (.StartTime | t) >= ($since | fromdateiso8601))]
    | sort_by(.StartTime | t) | last // empty
    | [.InstanceRefreshId, .Status, (.PercentageComplete // 0 | tostring), (.StatusReason // "" | gsub("[\t\n]"; " "))] | @tsv'
}

deadline=$((SECONDS + wait_seconds))
last=""
while :; do
  out=$(aws autoscaling describe-instance-refreshes --auto-scaling-group-name "$group" --max-records 10 --output json) || {
    echo "wait-instance-refresh: describe-instance-refreshes failed for $group" >&2
    exit 1
  }
  line=$(newest <<<"$out")
  if [[ -z "$line" ]]; then
    echo "no instance refresh of $group${since:+ since $since}: its launch configuration did not change; nothing to wait for"
    exit 0
  fi
  IFS=$'\t' read -r id status pct reason <<<"$line"
  if [[ "$status/$pct" != "$last" ]]; then
    echo "instance refresh $id of $group: $status ($pct%)${reason:+: $reason}"
    last="$status/$pct"
  fi
  case "$status" in
    Successful) exit 0 ;;
    Pending|InProgress|Baking|Cancelling|RollbackInProgress) ;;
    Failed|Cancelled|RollbackFailed|RollbackSuccessful)
      echo "wait-instance-refresh: instance refresh $id of $group ended $status${reason:+: $reason}" >&2
      if [[ "$status" == Rollback* ]]; then
        echo "wait-instance-refresh: the auto-rollback went back to the group's launch template version, which Terraform had already moved to the new one (terraform-provider-aws #34189): the fleet still runs the new configuration" >&2
      fi
      echo "wait-instance-refresh: roll back by publishing the previous AMI id to SSM and deploying the AMI's stacks again: docs/runbooks/scale-out.md, \"A failed instance refresh\"" >&2
      exit 1 ;;
    *)
      echo "wait-instance-refresh: instance refresh $id of $group has an unknown status \"$status\"" >&2
      exit 1 ;;
  esac
  if ((SECONDS >= deadline)); then
    echo "wait-instance-refresh: instance refresh $id of $group is still $status ($pct%) after ${wait_seconds}s; it goes on in AWS: check it before the next deploy" >&2
    exit 1
  fi
  sleep "$poll"
done
