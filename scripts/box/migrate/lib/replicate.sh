# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: replicate mode: start (schema, publication, subscription), status, cutover, abort.
# ----------------------------------------------------------------------------------------- replicate
repl_status() {
  local lag
  lag=$(qs source slot-lag) || return 1
  if [[ -z "$lag" ]]; then say "   no replication slot '$REPL_NAME' on the source"; return 0; fi
  local _s active bytes lsn
  IFS=$'\t' read -r _s active bytes lsn <<<"$lag"
  say "   slot $REPL_NAME: active=$active, confirmed_flush_lsn=$lsn, lag=${bytes} bytes"
  qs target subscription-tables || return 1
  echo
  qs target apply-worker || return 1
  echo
  progress status "lag $bytes bytes"
}

wait_initial_sync() {
  local deadline=$((SECONDS + timeout)) pending
  while :; do
    pending=$(qs target sync-pending) || fail 1 "could not read the subscription state"
    if [[ "${pending%%/*}" == 0 && "${pending#*/}" != 0 ]]; then break; fi
    [[ $SECONDS -lt $deadline ]] || fail 1 "initial sync not finished after $timeout s ($pending tables pending); see --status, raise --timeout"
    say "   initial sync: $pending tables still copying"
    sleep "$poll"
  done
  say "   initial sync finished: all tables streaming"
}

replicate_start() {
  phase=schema
  confirm_write
  say "== schema: pg_dump --schema-only ${copy_schemas[*]}"
  local nargs=() s
  for s in "${copy_schemas[@]}"; do nargs+=(--schema="$s"); done
  dump_dir=$(mktemp -d "${work_dir:-${TMPDIR:-/tmp}}/migrate-db-schema.XXXXXX")
  rmdir "$dump_dir"
  with_pw source pg_dump --format=directory --schema-only --no-publications --no-subscriptions "${nargs[@]}" \
    --file="$dump_dir" --dbname="$(side_url source)" 2>"$tmp/dump.err" || fail 1 "pg_dump --schema-only failed (target untouched): $(tr '\n' ' ' <"$tmp/dump.err")"
  write_marker
  prepare_target
  filtered_toc "$dump_dir" "$tmp/toc.list"
  restore_with_progress "$dump_dir" "$tmp/toc.list" || fail 1 "schema restore failed: $(grep -E 'error' "$tmp/restore.log" | tail -n 3 | tr '\n' ' ')"
  phase=publish
  local tables
  tables=$(qs source publish-tables schemas="$(sql_array "${copy_schemas[@]}")") || fail 1 "could not list the tables to publish"
  [[ -n "$tables" ]] || fail 1 "no tables to publish in ${copy_schemas[*]}"
  qs source create-publication tables="$tables" >/dev/null || fail 1 "could not create publication $REPL_NAME on the source"
  progress publish "publication $REPL_NAME created"
  say "   publication $REPL_NAME created on the source"
  phase=subscribe
  # The target server connects to the source itself: it needs the password in the conninfo (stored
  # in pg_subscription, readable only by superusers; dropped with the subscription at cutover).
  local conninfo=$source_url_nopw
  [[ -n "$source_pw" ]] && conninfo="$source_url_nopw$( [[ "$source_url_nopw" == *\?* ]] && echo '&' || echo '?' )password=$(printf '%s' "$source_pw" | jq -sRr @uri)"
  qs "$priv_side" create-subscription conninfo="$conninfo" >/dev/null \
    || fail 1 "could not create subscription $REPL_NAME on the target as $(side_masked "$priv_side") (the target server must reach the source at $source_masked)"
  progress subscribe "subscription $REPL_NAME created"
  say "   subscription $REPL_NAME created on the target"
  phase=initial-sync
  wait_initial_sync
  repl_status || true
  result=ok
  say "== replication running. When writes are frozen on the source, run: $TOOL --mode replicate --cutover"
}

replicate_cutover() {
  phase=cutover
  local exists
  exists=$(qs target subscription-count) || fail 1 "could not read subscriptions on the target"
  [[ "$exists" == 1 ]] || fail 1 "no subscription $REPL_NAME on the target; start replication first (--mode replicate)"
  run_id=$(qs target marker-replicate-run) || fail 1 "no replicate run in $MARKER_SCHEMA.status"
  [[ -n "$run_id" ]] || fail 1 "no replicate run in $MARKER_SCHEMA.status on the target"
  marker_written=1
  # Verify exactly the schemas that replication was started with, whatever this invocation's filters say.
  local started_with
  started_with=$(qs target marker-schemas run_id="$run_id") || fail 1 "could not read the replicated schemas from the marker"
  mapfile -t copy_schemas <<<"$started_with"
  confirm_write
  local want deadline=$((SECONDS + timeout)) flushed
  want=$(qs source wal-position) || fail 1 "could not read the source WAL position"
  say "== cutover: waiting for the subscriber to confirm $want (bounded by ${timeout}s)"
  while :; do
    flushed=$(qs source slot-behind want="$want") || fail 1 "could not read the replication slot"
    [[ -n "$flushed" ]] || fail 1 "replication slot $REPL_NAME is gone on the source"
    if [[ "$flushed" -le 0 ]]; then break; fi
    [[ $SECONDS -lt $deadline ]] || fail 1 "lag did not reach zero within $timeout s (still $flushed bytes behind); are writes frozen? see --status"
    say "   lag: $flushed bytes"
    sleep "$poll"
  done
  progress cutover "zero lag at $want"
  say "   zero lag"
  # Logical replication doesn't carry sequences: copy their values now that writes are frozen.
  phase=sequences
  local seqs
  seqs=$(qs source sequence-setvals schemas="$(sql_array "${copy_schemas[@]}")") || fail 1 "could not read sequences on the source"
  if [[ -n "$seqs" ]]; then
    printf '%s\n' "$seqs" >"$tmp/seqs.sql"
    qf target "$tmp/seqs.sql" >/dev/null || fail 1 "could not set sequences on the target"
  fi
  progress sequences "$(grep -c setval <<<"$seqs" || true) sequences copied"
  say "   sequences copied: $(grep -c setval <<<"$seqs" || true)"
  verify
  phase=detach
  qs "$priv_side" drop-subscription >/dev/null || fail 1 "could not drop subscription $REPL_NAME on the target"
  # The data is final and verified once the subscription is gone; a publication left on the source is
  # only clutter, so a failure here is a warning with the command to finish by hand.
  qs source drop-publication >/dev/null || warn "could not drop publication $REPL_NAME on the source; run there: DROP PUBLICATION $REPL_NAME"
  progress detach "subscription, slot and publication dropped"
  say "   detached: subscription, slot and publication dropped"
  finish_ok
}

replicate_abort() {
  phase=abort
  confirm_write
  local exists
  exists=$(qs target subscription-count) || fail 1 "could not read subscriptions on the target"
  if [[ "$exists" == 1 ]]; then
    qs "$priv_side" drop-subscription >/dev/null || fail 1 "could not drop subscription $REPL_NAME"
  fi
  qs source drop-slot >/dev/null || warn "could not drop slot $REPL_NAME on the source"
  qs source drop-publication >/dev/null || fail 1 "could not drop publication $REPL_NAME"
  say "   replication aborted; the target stays marked incomplete"
  result=ok
}
