#!/usr/bin/env bash
# Installs the API release named in the releases bucket's latest.txt before zmanim-api starts
# (ExecStartPre=+ in zmanim-api.service; runs as root).
#
# Usage: update-binary.sh [--rollback] [--help]
#
#   (no option)  Reads s3://$ZMANIM_RELEASES_BUCKET/latest.txt. When it names a version other than the one in
#                version.txt, downloads zmanim-api-<version> and zmanim-api-<version>.sha256 (the first field
#                is the hex sha256 of the binary), verifies the checksum, keeps the running binary as
#                zmanim-api.previous and swaps the new one in with an atomic rename.
#   --rollback   Swaps zmanim-api.previous back in (and the failed version out) and records the rolled-back
#                version in hold.txt: that version is never downloaded again. Once latest.txt names any other
#                version, the next start installs it. Restart the service afterwards:
#                  /opt/zmanim/bin/update-binary.sh --rollback && systemctl restart zmanim-api
#
# Failure policy: the API must start whenever it can. If the download or the checksum fails and a runnable
# binary is already installed, the script logs a warning, leaves everything as it was and exits 0. It exits
# 1 only when no runnable binary exists (the API could not start anyway) or a rollback is impossible.
#
# Settings (from the environment, else from /etc/zmanim/box.env, written by user data):
#   ZMANIM_RELEASES_BUCKET  releases bucket name (required)
#   AWS_REGION              region for the S3 calls (optional; the CLI's own resolution otherwise)
#   ZMANIM_HOME=/opt/zmanim         install directory (zmanim-api, zmanim-api.previous, version.txt)
#   ZMANIM_BOX_ENV=/etc/zmanim/box.env
# Exit: 0 a runnable binary is installed; 1 none is, or the rollback failed; 2 bad usage or settings.
set -euo pipefail

usage() { sed -n '2,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'; }
log() { printf 'update-binary: %s\n' "$*" >&2; }

mode=update
case "${1:-}" in
  "") ;;
  --rollback) mode=rollback ;;
  -h | --help) usage; exit 0 ;;
  *) log "unknown option '$1'; use --rollback or --help"; exit 2 ;;
esac
if [[ $# -gt 1 ]]; then log "too many arguments; see --help"; exit 2; fi

home=${ZMANIM_HOME:-/opt/zmanim}
box_env=${ZMANIM_BOX_ENV:-/etc/zmanim/box.env}
bin="$home/zmanim-api"
prev="$home/zmanim-api.previous"
version_file="$home/version.txt"
prev_version_file="$home/previous-version.txt"
hold_file="$home/hold.txt"

# read_box KEY: the value of KEY in box.env (KEY=value lines; nothing is executed).
read_box() { [[ -r "$box_env" ]] && sed -n "s/^$1=//p" "$box_env" | tail -n 1; return 0; }
bucket=${ZMANIM_RELEASES_BUCKET:-$(read_box ZMANIM_RELEASES_BUCKET)}
region=${AWS_REGION:-$(read_box AWS_REGION)}

runnable() { [[ -f "$1" && -x "$1" && -s "$1" ]]; }
current_version() { if [[ -s "$version_file" ]]; then head -n 1 "$version_file"; else echo none; fi; }
# write_atomic PATH CONTENT
write_atomic() { local tmp; tmp=$(mktemp "$1.XXXXXX"); printf '%s\n' "$2" >"$tmp"; chmod 0644 "$tmp"; mv -f "$tmp" "$1"; }

# give_up MESSAGE: keep what is installed; succeed only if it can run.
give_up() {
  if runnable "$bin"; then
    log "WARNING: $1; keeping the installed binary (version $(current_version))"
    exit 0
  fi
  log "ERROR: $1; and no runnable binary at $bin, so the API cannot start"
  exit 1
}

if [[ $mode == rollback ]]; then
  runnable "$prev" || { log "ERROR: no previous binary at $prev; nothing to roll back to"; exit 1; }
  failed=$(current_version)
  previous=$(if [[ -s "$prev_version_file" ]]; then head -n 1 "$prev_version_file"; else echo unknown; fi)
  tmp=$(mktemp "$home/.zmanim-api.swap.XXXXXX")
  cp -p "$prev" "$tmp"
  if runnable "$bin"; then mv -f "$bin" "$prev"; fi
  mv -f "$tmp" "$bin"
  write_atomic "$prev_version_file" "$failed"
  write_atomic "$version_file" "$previous"
  write_atomic "$hold_file" "$failed"
  log "rolled back from $failed to $previous; $failed is on hold until latest.txt names another version"
  exit 0
fi

if [[ -z "$bucket" ]]; then
  give_up "ZMANIM_RELEASES_BUCKET is not set (environment or $box_env)"
fi
aws_args=()
[[ -z "$region" ]] || aws_args+=(--region "$region")

latest=$(aws "${aws_args[@]}" s3 cp "s3://$bucket/latest.txt" - 2>/dev/null | head -n 1 | tr -d '[:space:]') ||
  give_up "cannot read s3://$bucket/latest.txt"
if [[ ! "$latest" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$ ]]; then
  give_up "s3://$bucket/latest.txt holds '$latest', which is not a version name (letters, digits, . _ + -)"
fi
current=$(current_version)
if [[ "$latest" == "$current" ]] && runnable "$bin"; then
  log "version $current is current"
  exit 0
fi
if [[ -s "$hold_file" && "$(head -n 1 "$hold_file")" == "$latest" ]] && runnable "$bin"; then
  log "version $latest is on hold after a rollback (hold.txt); staying on $current"
  exit 0
fi

log "updating from $current to $latest"
work=$(mktemp -d "$home/.update.XXXXXX")
trap 'rm -rf "$work"' EXIT
aws "${aws_args[@]}" s3 cp --only-show-errors "s3://$bucket/zmanim-api-$latest" "$work/zmanim-api" >&2 ||
  give_up "download of s3://$bucket/zmanim-api-$latest failed"
aws "${aws_args[@]}" s3 cp --only-show-errors "s3://$bucket/zmanim-api-$latest.sha256" "$work/zmanim-api.sha256" >&2 ||
  give_up "download of s3://$bucket/zmanim-api-$latest.sha256 failed"
expected=$(awk 'NR == 1 { print tolower($1) }' "$work/zmanim-api.sha256")
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || give_up "zmanim-api-$latest.sha256 does not start with a sha256 (got '$expected')"
actual=$(sha256sum "$work/zmanim-api" | awk '{ print $1 }')
[[ "$actual" == "$expected" ]] ||
  give_up "checksum mismatch for zmanim-api-$latest: expected $expected, got $actual"

chmod 0755 "$work/zmanim-api"
# Keep the running binary for rollback (a copy, so $bin stays in place until the rename below).
if runnable "$bin"; then
  cp -p "$bin" "$work/previous"
  mv -f "$work/previous" "$prev"
  write_atomic "$prev_version_file" "$current"
fi
mv -f "$work/zmanim-api" "$bin"
write_atomic "$version_file" "$latest"
rm -f "$hold_file"
log "installed zmanim-api $latest (sha256 $actual)"
