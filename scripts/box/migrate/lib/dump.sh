# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: the writes before the data: confirmation, the marker row, schemas/extensions, then pg_dump.
# ------------------------------------------------------------------------------------------- writes
confirm_write() {
  [[ $assume_yes -eq 1 ]] && return 0
  if [[ ! -t 0 ]]; then
    fail 2 "refusing to write to the target without confirmation: stdin is not a terminal; pass --yes"
  fi
  local answer
  read -r -p "Write ${copy_schemas[*]} from $source_masked into $target_masked? [y/N] " answer
  [[ "$answer" == y || "$answer" == Y || "$answer" == yes ]] || fail 1 "cancelled by the operator; nothing was written"
}

write_marker() {
  qs target marker-start run_id="$run_id" mode="$mode" source="$source_masked" schemas="$(sql_array "${copy_schemas[@]}")" >/dev/null \
    || fail 1 "could not write the marker table on the target"
  marker_written=1
  progress marker "target marked incomplete (run $run_id)"
  say "   target marked incomplete ($MARKER_SCHEMA.status run $run_id)"
}

# Schemas, extensions and compatibility functions, created before pg_restore (whose TOC is then
# filtered so that it doesn't try to create the schemas again).
# Schemas belong to the --target role; extensions are created by --target-admin when given.
prepare_target() {
  local s sql="" ext_sql="" name ver sch
  for s in "${copy_schemas[@]}"; do sql+="CREATE SCHEMA IF NOT EXISTS $(sql_ident "$s");"$'\n'; done
  while IFS=$'\t' read -r name ver sch; do
    [[ -n "$name" ]] || continue
    sql+="CREATE SCHEMA IF NOT EXISTS $(sql_ident "$sch");"$'\n'
    ext_sql+="CREATE EXTENSION IF NOT EXISTS $(sql_ident "$name") WITH SCHEMA $(sql_ident "$sch") CASCADE;"$'\n'
  done <<<"$src_exts"
  printf '%s' "$sql" >"$tmp/prepare.sql"
  qf target "$tmp/prepare.sql" || fail 1 "could not create schemas on the target"
  printf '%s' "$ext_sql" >"$tmp/extensions.sql"
  qf "$priv_side" "$tmp/extensions.sql" || fail 1 "could not create extensions on the target as $(side_masked "$priv_side")"
  if [[ $compat_needed -eq 1 ]]; then
    local f
    for f in "$COMPAT_DIR"/*.sql; do qf target "$f" || fail 1 "could not apply $(basename "$f") on the target"; done
    say "   compatibility functions applied from scripts/box/migrate/compat/"
  fi
  progress prepare "schemas, extensions and compatibility functions created"
}

copy_dump() {
  phase=dump
  dump_dir=$(mktemp -d "${work_dir:-${TMPDIR:-/tmp}}/migrate-db-dump.XXXXXX")
  rmdir "$dump_dir"
  local nargs=() s
  for s in "${copy_schemas[@]}"; do nargs+=(--schema="$s"); done
  say "== dump: pg_dump -Fd -j $jobs ${copy_schemas[*]} -> $dump_dir"
  local t0=$SECONDS
  if ! with_pw source pg_dump --format=directory --jobs="$jobs" --no-publications --no-subscriptions \
      "${nargs[@]}" --file="$dump_dir" --dbname="$(side_url source)" 2>"$tmp/dump.err"; then
    local hint=""
    grep -qi snapshot "$tmp/dump.err" && hint=" (the source refuses synchronized snapshots: retry with --jobs 1)"
    fail 1 "pg_dump failed (target untouched)$hint: $(tr '\n' ' ' <"$tmp/dump.err")"
  fi
  progress dump "dump finished in $((SECONDS - t0)) s"
  say "   dump finished in $((SECONDS - t0)) s ($(du -sh "$dump_dir" | cut -f1))"

  phase=restore
  write_marker
  prepare_target
  filtered_toc "$dump_dir" "$tmp/toc.list"
  say "== restore: pg_restore -j $jobs --no-owner --no-privileges --exit-on-error"
  t0=$SECONDS
  if ! restore_with_progress "$dump_dir" "$tmp/toc.list"; then
    local last
    last=$(grep -E 'error' "$tmp/restore.log" | tail -n 3 | tr '\n' ' ')
    fail 1 "pg_restore failed: $last"
  fi
  progress restore "restore finished in $((SECONDS - t0)) s"
  say "   restore finished in $((SECONDS - t0)) s"
}
