#!/usr/bin/env bash
# Uploads a Next.js static export to the static bucket with the right Cache-Control per file type, deletes
# removed files last, then invalidates only the paths that changed.
#
# Usage: scripts/ci/static-site-sync.sh --source DIR --bucket BUCKET (--site NAME | --distribution-id ID)
#                                       [--max-paths N]
#   --source DIR          the export (next build with output: 'export'; must hold index.html)
#   --bucket BUCKET       the static bucket (zmanim-<env>-static-<account>)
#   --site NAME           find the CloudFront distribution by this alias (e.g. zmanim.shtetl.io)
#   --distribution-id ID  or name the distribution directly
#   --max-paths N         above N changed paths, invalidate "/*" instead (default 50)
#
# Cache-Control:
#   _next/static/** and content-hashed files (name.<8+ hex>.ext)  public,max-age=31536000,immutable
#   HTML and everything else                                      public,max-age=0,must-revalidate
# Order: immutable assets first, then HTML and the rest, then deletions, so a new page never references an
# asset that is not there yet. Hashed assets get new names, so they never need invalidating.
# Invalidation cost: the first 1,000 paths a month are free, then USD 0.005 per path; "/*" counts as one path.
# Exit: 0 done, 1 an AWS call failed, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
source_dir="" bucket="" site="" distribution="" max_paths=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --source) source_dir=${2:-}; shift 2 ;;
    --bucket) bucket=${2:-}; shift 2 ;;
    --site) site=${2:-}; shift 2 ;;
    --distribution-id) distribution=${2:-}; shift 2 ;;
    --max-paths) max_paths=${2:-}; shift 2 ;;
    *) echo "static-site-sync: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
fail_usage() { echo "static-site-sync: $1" >&2; exit 2; }
[[ -n "$source_dir" && -f "$source_dir/index.html" ]] || fail_usage "--source \"$source_dir\" must be a Next.js export directory containing index.html"
[[ -n "$bucket" ]] || fail_usage "--bucket is required (the static bucket, zmanim-<env>-static-<account>)"
[[ -n "$site" || -n "$distribution" ]] || fail_usage "give --site NAME or --distribution-id ID"
[[ "$max_paths" =~ ^[0-9]+$ && "$max_paths" -ge 1 ]] || fail_usage "--max-paths \"$max_paths\" must be a whole number >= 1"

IMMUTABLE="public,max-age=31536000,immutable"
REVALIDATE="public,max-age=0,must-revalidate"
hex8='[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
hashed=(--include '_next/static/*' --include "*.${hex8}*.*" --include "*-${hex8}*.*" --exclude '*.html')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Immutable assets.
aws s3 sync "$source_dir" "s3://$bucket" --no-progress --exclude '*' "${hashed[@]}" \
  --cache-control "$IMMUTABLE" | tee "$work/immutable.log"
# 2. HTML and everything else (the filters are the complement of pass 1).
aws s3 sync "$source_dir" "s3://$bucket" --no-progress \
  --exclude '_next/static/*' --exclude "*.${hex8}*.*" --exclude "*-${hex8}*.*" --include '*.html' \
  --cache-control "$REVALIDATE" | tee "$work/revalidate.log"
# 3. Deletions last. Everything is in sync now, so this pass only deletes.
aws s3 sync "$source_dir" "s3://$bucket" --no-progress --delete --cache-control "$REVALIDATE" | tee "$work/delete.log"

# Changed paths: re-uploaded or deleted non-immutable objects. `/dir/index.html` is also served as `/dir/`.
{
  sed -n "s#^upload: .* to s3://$bucket/\\(.*\\)\$#\\1#p" "$work/revalidate.log" "$work/delete.log"
  sed -n "s#^delete: s3://$bucket/\\(.*\\)\$#\\1#p" "$work/delete.log"
} | while IFS= read -r k; do
  [[ -z "$k" ]] && continue
  echo "/$k"
  if [[ "$k" == index.html ]]; then echo "/"; elif [[ "$k" == */index.html ]]; then echo "/${k%index.html}"; fi
done | sort -u >"$work/paths"

count=$(wc -l <"$work/paths")
if [[ "$count" -eq 0 ]]; then
  echo "no HTML or mutable file changed; nothing to invalidate"
  exit 0
fi
if [[ "$count" -gt "$max_paths" ]] || grep -q '[^A-Za-z0-9._~/-]' "$work/paths"; then
  echo "$count changed paths (or paths that need encoding): invalidating /* (one path)"
  echo "/*" >"$work/paths"
fi

if [[ -z "$distribution" ]]; then
  distribution=$(aws cloudfront list-distributions \
    --query "DistributionList.Items[?Aliases.Quantity > \`0\` && contains(Aliases.Items, '$site')].Id" --output text)
  if [[ -z "$distribution" || "$distribution" == "None" || "$distribution" == *[[:space:]]* ]]; then
    echo "static-site-sync: expected exactly one CloudFront distribution with alias $site, found \"$distribution\"" >&2
    exit 1
  fi
fi
mapfile -t paths <"$work/paths"
echo "invalidating ${#paths[@]} path(s) on $distribution: ${paths[*]}"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "${paths[@]}" \
  --query Invalidation.Id --output text
