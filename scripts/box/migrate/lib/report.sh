# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# shellcheck disable=SC2317 # the report/exit functions run from traps
# migrate-db: the run's workspace, preflight check rows, progress, the JSON report, the target marker and the exit trap.
# ------------------------------------------------------------------------------------------ workspace
# start_run: the run's private workspace and state; from here on the exit trap writes the report.
# shellcheck disable=SC2034 # read by the other phase files
start_run() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/migrate-db.XXXXXX")
  chmod 700 "$tmp"
  run_id=$(date -u +%Y%m%dT%H%M%SZ)-$$
  started_at=$(now_iso)
  phase=start
  result=failed
  error_msg=
  exit_code=1
  marker_written=0
  : >"$tmp/preflight.tsv"; : >"$tmp/tables.tsv"; : >"$tmp/sequences.tsv"; : >"$tmp/extensions.tsv"; : >"$tmp/progress.tsv"
  dump_dir=
  trap on_exit EXIT
  trap 'error_msg="interrupted"; exit 130' INT TERM
}

# ------------------------------------------------------------------------------------------- report
check_rows=0
check_fail=0
record_check() { # name status detail
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$tmp/preflight.tsv"
  check_rows=$((check_rows + 1))
  local tag
  case "$2" in ok) tag="ok  " ;; fail) tag="FAIL"; check_fail=$((check_fail + 1)) ;; warn) tag="warn" ;; *) tag="info" ;; esac
  printf '  [%s] %-22s %s\n' "$tag" "$1" "$3"
}
tsv_to_json() { # file field-names...
  local file=$1; shift
  local names
  names=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
  jq -R -s -c --argjson names "$names" '
    split("\n") | map(select(length > 0) | split("\t")) |
    map(. as $row | reduce range(0; $names | length) as $i ({};
      . + {($names[$i]): ($row[$i] // null
        | if . != null and ($names[$i] | test("_(rows|constraints|indexes|last_value)$")) and test("^-?[0-9]+$") then tonumber else . end)}))' "$file"
}
write_report() {
  [[ -n "$report_file" ]] || return 0
  local inc exc
  inc=$(printf '%s\n' ${copy_schemas[@]+"${copy_schemas[@]}"} | jq -R . | jq -s -c 'map(select(length > 0))')
  exc=$(printf '%s\n' ${excluded_schemas[@]+"${excluded_schemas[@]}"} | jq -R . | jq -s -c 'map(select(length > 0))')
  jq -n \
    --arg tool "$TOOL" --arg version "$TOOL_VERSION" --arg run_id "$run_id" \
    --arg mode "$mode" --arg action "$action" --arg provider "$provider" \
    --arg source "$source_masked" --arg target "$target_masked" \
    --arg started_at "$started_at" --arg finished_at "$(now_iso)" \
    --arg result "$result" --arg phase "$phase" --arg error "$error_msg" \
    --argjson exit_code "$exit_code" --argjson jobs "$jobs" \
    --argjson marker_written "$marker_written" \
    --argjson included "$inc" --argjson excluded "$exc" \
    --argjson preflight "$(tsv_to_json "$tmp/preflight.tsv" check status detail)" \
    --argjson tables "$(tsv_to_json "$tmp/tables.tsv" schema table source_rows target_rows source_checksum target_checksum source_constraints target_constraints source_indexes target_indexes status problem)" \
    --argjson sequences "$(tsv_to_json "$tmp/sequences.tsv" schema sequence source_last_value source_is_called target_last_value target_is_called status)" \
    --argjson extensions "$(tsv_to_json "$tmp/extensions.tsv" name source_version target_version status)" \
    --argjson progress "$(tsv_to_json "$tmp/progress.tsv" time event detail)" \
    '{tool: $tool, tool_version: $version, run_id: $run_id, mode: $mode, action: $action, provider: $provider,
      source: $source, target: $target, started_at: $started_at, finished_at: $finished_at, jobs: $jobs,
      schemas: {copied: $included, excluded: $excluded},
      result: $result, exit_code: $exit_code, failed_phase: (if $result == "ok" then null else $phase end),
      error: (if $error == "" then null else $error end),
      target_marked_incomplete: ($marker_written == 1 and $result != "ok"),
      preflight: $preflight, progress: $progress,
      verification: {tables: $tables, sequences: $sequences, extensions: $extensions,
                     mismatches: ([$tables[], $sequences[], $extensions[]] | map(select(.status == "MISMATCH")) | length)}}' \
    >"$report_file.tmp.$$"
  mv -f "$report_file.tmp.$$" "$report_file"
}
progress() { printf '%s\t%s\t%s\n' "$(now_iso)" "$1" "$2" >>"$tmp/progress.tsv"; }

mark_target() { # state message
  [[ $marker_written -eq 1 ]] || return 0
  qs target marker-finish state="$1" message="$2" run_id="$run_id" >/dev/null 2>&1 || warn "could not update the marker row $run_id on the target to '$1'; it still says 'incomplete'"
}

on_exit() {
  local rc=$?
  [[ $exit_code -eq 1 && $rc -ne 0 ]] && exit_code=$rc
  [[ $rc -eq 0 ]] && exit_code=0
  if [[ $rc -ne 0 && $marker_written -eq 1 ]]; then
    mark_target incomplete "failed in phase $phase: ${error_msg:-exit $rc}"
  fi
  write_report || warn "could not write the report to $report_file"
  if [[ $rc -ne 0 && $marker_written -eq 1 ]]; then
    echo "$TOOL: the target is marked INCOMPLETE (table $MARKER_SCHEMA.status, run $run_id); do not point the API at it." >&2
  fi
  if [[ -n "$dump_dir" && -d "$dump_dir" ]]; then
    if [[ $rc -eq 0 && $keep_dump -eq 0 ]]; then rm -rf "$dump_dir"; else echo "$TOOL: dump kept in $dump_dir" >&2; fi
  fi
  rm -rf "$tmp"
  exit "$rc"
}
fail() { # exit-code message
  error_msg=$(mask_any "$2")
  exit_code=$1
  echo "$TOOL: $error_msg" >&2
  exit "$1"
}
