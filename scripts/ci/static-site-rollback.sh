#!/usr/bin/env bash
# Keeps every deployed static export, and puts back the previous one with one command.
#
# Usage: scripts/ci/static-site-rollback.sh --keep --source DIR --releases-bucket BUCKET
#        scripts/ci/static-site-rollback.sh [--to ID] --releases-bucket BUCKET --bucket STATIC
#                                          --key-value-store NAME (--site NAME | --distribution-id ID)
#   --keep                 before a deploy: store DIR as site-exports/<ID>.tar.gz in the releases bucket and
#                          append ID to site-exports/history.txt (ID: the first 12 hex of a SHA-256 over the
#                          export's files and contents, so the same export is the same ID)
#   (no --keep)            roll back: deploy the export before the last one in history.txt (or --to ID) with
#                          scripts/ci/static-site-sync.sh, then drop the later entries from history.txt
#   --to ID                roll back to this kept export instead of the previous one
#   --releases-bucket BUCKET  where exports are kept (zmanim-<env>-releases-<account>)
#   --bucket, --key-value-store, --site, --distribution-id: passed to static-site-sync.sh
#
# Why a kept artifact and not the static bucket's versions: the export is one consistent set of files, and
# going back through static-site-sync.sh puts back exactly that set with everything the deploy derives from it
# (the site-paths key value store, 404.html with its http-status metadata, the deletions, the invalidation of
# every changed page). Restoring object versions would have to pick a version per key as of a moment, undo
# deletions by removing delete markers, rebuild the store and invalidate by hand, and the versions expire
# (noncurrentVersionDays). The kept exports stay in the releases bucket, which the release role already writes.
# History is written before the sync of a deploy, so a deploy that fails half-way is the "last" entry and a
# rollback puts back the one before it.
# Exit: 0 done, 1 an AWS call or the sync failed (or there is nothing to roll back to), 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
keep=0 source_dir="" releases="" to="" sync_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --keep) keep=1; shift ;;
    --source) source_dir=${2:-}; shift 2 ;;
    --releases-bucket) releases=${2:-}; shift 2 ;;
    --to) to=${2:-}; shift 2 ;;
    --bucket|--key-value-store|--site|--distribution-id) sync_args+=("$1" "${2:-}"); shift 2 ;;
    *) echo "static-site-rollback: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
fail_usage() { echo "static-site-rollback: $1" >&2; exit 2; }
[[ "$releases" =~ ^[a-z0-9.-]{3,63}$ ]] || fail_usage "--releases-bucket \"$releases\" must name the releases bucket, e.g. zmanim-prod-releases-111111111111"
[[ -z "$to" || "$to" =~ ^[0-9a-f]{12}$ ]] || fail_usage "--to \"$to\" must be an export ID (12 hex digits, a line of site-exports/history.txt)"
prefix="s3://$releases/site-exports"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# history.txt, one ID a line, oldest first; a bucket without one has no history yet.
read_history() {
  local err
  if ! aws s3 cp "$prefix/history.txt" - 2>"$work/err" >"$work/history"; then
    err=$(cat "$work/err")
    if [[ "$err" == *"(404)"* ]]; then : >"$work/history"; else echo "$err" >&2; exit 1; fi
  fi
  sed -i '/^[0-9a-f]\{12\}$/!d' "$work/history"
}

if [[ $keep -eq 1 ]]; then
  [[ -n "$source_dir" && -f "$source_dir/index.html" ]] || fail_usage "--keep needs --source DIR, a Next.js export containing index.html"
  id=$(cd "$source_dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
  tar -czf "$work/export.tar.gz" -C "$source_dir" .
  aws s3 cp "$work/export.tar.gz" "$prefix/$id.tar.gz" --no-progress
  read_history
  if [[ "$(tail -n 1 "$work/history")" != "$id" ]]; then echo "$id" >>"$work/history"; fi
  aws s3 cp - "$prefix/history.txt" --content-type text/plain <"$work/history"
  echo "kept export $id in $prefix/ ($(wc -l <"$work/history") in history)"
  exit 0
fi

[[ ${#sync_args[@]} -gt 0 ]] || fail_usage "give --bucket, --key-value-store and --site or --distribution-id (as for static-site-sync.sh)"
read_history
mapfile -t ids <"$work/history"
n=${#ids[@]}
if [[ -n "$to" ]]; then
  target=-1
  for ((i = 0; i < n; i++)); do [[ "${ids[$i]}" != "$to" ]] || target=$i; done
  (( target >= 0 )) || { echo "static-site-rollback: export $to is not in $prefix/history.txt (${ids[*]:-empty})" >&2; exit 1; }
else
  (( n >= 2 )) || { echo "static-site-rollback: $prefix/history.txt holds ${n} export(s); nothing before the live one to roll back to" >&2; exit 1; }
  target=$((n - 2))
fi
id=${ids[$target]}
echo "rolling back from ${ids[$((n - 1))]} to $id"
aws s3 cp "$prefix/$id.tar.gz" "$work/export.tar.gz" --no-progress
mkdir "$work/site"
tar -xzf "$work/export.tar.gz" -C "$work/site"
bash "$(dirname "$self")/static-site-sync.sh" --source "$work/site" "${sync_args[@]}"
printf '%s\n' "${ids[@]:0:$((target + 1))}" >"$work/history.new"
aws s3 cp - "$prefix/history.txt" --content-type text/plain <"$work/history.new"
echo "rolled back to export $id"
