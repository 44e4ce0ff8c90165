#!/usr/bin/env bash
# Uploads a Next.js static export to the static bucket with the right Cache-Control per file type, writes
# the export's object keys to the site-paths key value store, deletes removed files last, then invalidates
# only the paths that changed.
#
# Usage: scripts/ci/static-site-sync.sh --source DIR --bucket BUCKET --key-value-store NAME
#                                       (--site NAME | --distribution-id ID) [--max-paths N]
#   --source DIR          the export (next build with output: 'export'; must hold index.html and 404.html)
#   --bucket BUCKET       the static bucket (zmanim-<env>-static-<account>)
#   --key-value-store NAME  the CloudFront key value store of site paths (zmanim-<env>-site-paths)
#   --site NAME           find the CloudFront distribution by this alias (e.g. zmanim.shtetl.io)
#   --distribution-id ID  or name the distribution directly
#   --max-paths N         above N changed paths, invalidate "/*" instead (default 50)
#
# The 404 page: 404.html is uploaded with the object metadata http-status=404; the distribution's
# viewer-response function (constructs/cloudfront/not-found-status.js) answers it with status 404.
# The key value store: one key per object outside _next/static/ ("/about/index.html", value "1");
# spa-router.js sends a path whose key is missing to /404.html. Keys are added after the uploads and
# removed before the deletions, so the store never lists an object S3 lacks for longer than a deploy.
# Each UpdateKeys call carries the store's current ETag (If-Match) and at most 50 changes; a concurrent
# writer makes the call fail instead of being overwritten.
#
# Cache-Control:
#   _next/static/** and content-hashed files (name.<8+ hex>.ext)  public,max-age=31536000,immutable
#   HTML (404.html too) and everything else          public,max-age=0,s-maxage=86400,must-revalidate
# Pages: browsers revalidate every time (max-age=0, must-revalidate) while CloudFront keeps them a day
# (s-maxage, within the html-cache policy's max TTL of 86400: CloudFront uses s-maxage clamped to the
# policy's min and max TTL, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html).
# Every deploy invalidates the pages it changed, so the day only bounds a missed invalidation.
# Order: immutable assets first, then HTML and the rest, then deletions, so a new page never references an
# asset that is not there yet. Hashed assets get new names, so they never need invalidating.
# Invalidation cost: the first 1,000 paths a month are free, then USD 0.005 per path; "/*" counts as one path.
# Exit: 0 done, 1 an AWS call failed, 2 bad usage.
set -euo pipefail
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; }
source_dir="" bucket="" site="" distribution="" max_paths=50 kvs_name=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --source) source_dir=${2:-}; shift 2 ;;
    --bucket) bucket=${2:-}; shift 2 ;;
    --key-value-store) kvs_name=${2:-}; shift 2 ;;
    --site) site=${2:-}; shift 2 ;;
    --distribution-id) distribution=${2:-}; shift 2 ;;
    --max-paths) max_paths=${2:-}; shift 2 ;;
    *) echo "static-site-sync: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
  esac
done
fail_usage() { echo "static-site-sync: $1" >&2; exit 2; }
[[ -n "$source_dir" && -f "$source_dir/index.html" ]] || fail_usage "--source \"$source_dir\" must be a Next.js export directory containing index.html"
[[ -f "$source_dir/404.html" ]] || fail_usage "--source \"$source_dir\" has no 404.html; export a not-found page (pages/404 or app/not-found) so unknown paths get a page"
[[ -n "$bucket" ]] || fail_usage "--bucket is required (the static bucket, zmanim-<env>-static-<account>)"
[[ "$kvs_name" =~ ^[A-Za-z0-9_-]{1,64}$ ]] || fail_usage "--key-value-store \"$kvs_name\" must name the site-paths key value store, e.g. zmanim-prod-site-paths"
[[ -n "$site" || -n "$distribution" ]] || fail_usage "give --site NAME or --distribution-id ID"
[[ "$max_paths" =~ ^[0-9]+$ && "$max_paths" -ge 1 ]] || fail_usage "--max-paths \"$max_paths\" must be a whole number >= 1"

IMMUTABLE="public,max-age=31536000,immutable"
REVALIDATE="public,max-age=0,s-maxage=86400,must-revalidate"
hex8='[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
hashed=(--include '_next/static/*' --include "*.${hex8}*.*" --include "*-${hex8}*.*" --exclude '*.html')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Immutable assets.
aws s3 sync "$source_dir" "s3://$bucket" --no-progress --exclude '*' "${hashed[@]}" \
  --cache-control "$IMMUTABLE" | tee "$work/immutable.log"
# 2. HTML and everything else (the filters are the complement of pass 1), except the 404 page.
aws s3 sync "$source_dir" "s3://$bucket" --no-progress \
  --exclude '_next/static/*' --exclude "*.${hex8}*.*" --exclude "*-${hex8}*.*" --include '*.html' \
  --exclude 404.html --cache-control "$REVALIDATE" | tee "$work/revalidate.log"
# 2b. The 404 page, always, with the metadata that makes it a 404 (a sync would drop it on a re-upload).
aws s3 cp "$source_dir/404.html" "s3://$bucket/404.html" --no-progress --metadata http-status=404 \
  --content-type "text/html; charset=utf-8" --cache-control "$REVALIDATE"

# 2c. The key value store: add the keys of the new export, remove the keys of objects about to go.
kvs_arn=$(aws cloudfront describe-key-value-store --name "$kvs_name" --output json | jq -r '.KeyValueStore.ARN')
[[ "$kvs_arn" == arn:* ]] || { echo "static-site-sync: key value store $kvs_name not found" >&2; exit 1; }
(cd "$source_dir" && find . -type f ! -path './_next/static/*' -printf '/%P\n') | LC_ALL=C sort -u >"$work/keys.want"
if LC_ALL=C awk 'length($0) > 512 { print; bad = 1 } END { exit !bad }' "$work/keys.want" >&2; then
  echo "static-site-sync: the paths above are longer than the 512 bytes a key value store key may hold" >&2
  exit 1
fi
aws cloudfront-keyvaluestore list-keys --kvs-arn "$kvs_arn" --output json | jq -r '.Items[]?.Key' | LC_ALL=C sort -u >"$work/keys.have"
LC_ALL=C comm -23 "$work/keys.want" "$work/keys.have" | jq -R -c '{Key: ., Value: "1"}' >"$work/puts"
LC_ALL=C comm -13 "$work/keys.want" "$work/keys.have" | jq -R -c '{Key: .}' >"$work/deletes"
etag=$(aws cloudfront-keyvaluestore describe-key-value-store --kvs-arn "$kvs_arn" --output json | jq -r '.ETag')
# Puts first, then deletes, 50 changes per call; each call names the ETag the previous one returned.
update_keys() { # $1: --puts or --deletes, $2: a file of JSON lines
  local part
  split -l 50 -d -a 4 "$2" "$2.part."
  for part in "$2".part.*; do
    [[ -s "$part" ]] || continue
    etag=$(aws cloudfront-keyvaluestore update-keys --kvs-arn "$kvs_arn" --if-match "$etag" "$1" "$(jq -s -c . "$part")" \
      --output json | jq -r '.ETag') || {
      echo "static-site-sync: update-keys on $kvs_name failed; if the ETag moved, another deploy wrote the store: rerun this one" >&2
      exit 1
    }
    [[ -n "$etag" && "$etag" != null ]] || { echo "static-site-sync: update-keys returned no ETag" >&2; exit 1; }
  done
}
update_keys --puts "$work/puts"
update_keys --deletes "$work/deletes"
echo "key value store $kvs_name: $(wc -l <"$work/puts") key(s) added, $(wc -l <"$work/deletes") removed"

# 3. Deletions last. Everything is in sync now, so this pass only deletes.
aws s3 sync "$source_dir" "s3://$bucket" --no-progress --delete --exclude 404.html --cache-control "$REVALIDATE" | tee "$work/delete.log"

# Changed paths: re-uploaded or deleted non-immutable objects. `/dir/index.html` is also served as `/dir/`
# (spa-router.js rewrites `/dir/` to `/dir/index.html`): AWS recommends invalidating both the viewer's URI and
# the rewritten one (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-objects.html).
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
