# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: table-by-table verification of the copy, and the final marker.
# ------------------------------------------------------------------------------------------- verify
# verify: sql/verify.sql on both sides at once (one REPEATABLE READ snapshot each), then side by side.
verify() {
  phase=verify
  say "== verify: ${copy_schemas[*]}"
  local arr
  arr=$(sql_array "${copy_schemas[@]}")
  local src_pid tgt_pid
  ( with_pw source psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$(side_url source)" -v schemas="$arr" -c "$SESSION_SETUP" -f "$SQL_DIR/verify.sql" >"$tmp/v_source.tsv" 2>"$tmp/v_source.err" ) &
  src_pid=$!
  ( with_pw target psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$(side_url target)" -v schemas="$arr" -c "$SESSION_SETUP" -f "$SQL_DIR/verify.sql" >"$tmp/v_target.tsv" 2>"$tmp/v_target.err" ) &
  tgt_pid=$!
  local src_rc=0 tgt_rc=0
  wait "$src_pid" || src_rc=$?
  wait "$tgt_pid" || tgt_rc=$?
  [[ $src_rc -eq 0 ]] || fail 1 "verification query on the source failed: $(tr '\n' ' ' <"$tmp/v_source.err")"
  [[ $tgt_rc -eq 0 ]] || fail 1 "verification query on the target failed: $(tr '\n' ' ' <"$tmp/v_target.err")"
  # The script's own SELECTs return an extra column for tables; normalise lines by type.
  : >"$tmp/tables.tsv"; : >"$tmp/sequences.tsv"; : >"$tmp/extensions.tsv"
  local mismatches=0 bad_tables=()
  # key<TAB>... for joins
  awk -F'\t' '$3 == "T" {print $1"."$2"\t"$1"\t"$2"\t"$4"\t"$5"\t"$6"\t"$7}' "$tmp/v_source.tsv" | sort >"$tmp/st"
  awk -F'\t' '$3 == "T" {print $1"."$2"\t"$1"\t"$2"\t"$4"\t"$5"\t"$6"\t"$7}' "$tmp/v_target.tsv" | sort >"$tmp/tt"
  join -t $'\t' -a 1 -a 2 -e '-' -o '0,1.2,1.3,1.4,1.5,1.6,1.7,2.2,2.3,2.4,2.5,2.6,2.7' "$tmp/st" "$tmp/tt" >"$tmp/tj"
  printf '   %-40s %12s %12s  %-9s %-9s %-9s %s\n' TABLE "SOURCE ROWS" "TARGET ROWS" CHECKSUM CONSTR INDEXES STATUS
  local key ss stbl sr sc scon sidx ts ttbl tr tc tcon tidx status problem schema table
  while IFS=$'\t' read -r key ss stbl sr sc scon sidx ts ttbl tr tc tcon tidx; do
    schema=$ss; table=$stbl
    [[ "$schema" == - ]] && { schema=$ts; table=$ttbl; }
    problem=""
    if [[ "$ss" == - ]]; then problem="extra table on the target"
    elif [[ "$ts" == - ]]; then problem="missing on the target"
    else
      [[ "$sr" == "$tr" ]] || problem+="row count $sr vs $tr; "
      [[ "$sc" == "$tc" ]] || problem+="content checksum differs; "
      [[ "$scon" == "$tcon" ]] || problem+="constraints $scon vs $tcon; "
      [[ "$sidx" == "$tidx" ]] || problem+="indexes $sidx vs $tidx; "
      problem=${problem%; }
    fi
    if [[ -z "$problem" ]]; then status=ok; else status=MISMATCH; mismatches=$((mismatches + 1)); bad_tables+=("$schema.$table"); fi
    local csum_s csum_t
    csum_s=-; csum_t=-
    [[ "$sc" == - ]] || csum_s=$(printf '%s:%s' "$sr" "$sc" | md5sum | cut -c1-12)
    [[ "$tc" == - ]] || csum_t=$(printf '%s:%s' "$tr" "$tc" | md5sum | cut -c1-12)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$schema" "$table" "$sr" "$tr" "$csum_s" "$csum_t" "$scon" "$tcon" "$sidx" "$tidx" "$status" "$problem" >>"$tmp/tables.tsv"
    printf '   %-40s %12s %12s  %-9s %-9s %-9s %s\n' "$key" "$sr" "$tr" "$( [[ "$sc" == "$tc" ]] && echo same || echo DIFFERS )" "$scon/$tcon" "$sidx/$tidx" "$status${problem:+: $problem}"
  done <"$tmp/tj"

  awk -F'\t' '$3 == "S" {print $1"."$2"\t"$1"\t"$2"\t"$4"\t"$5}' "$tmp/v_source.tsv" | sort >"$tmp/ss"
  awk -F'\t' '$3 == "S" {print $1"."$2"\t"$1"\t"$2"\t"$4"\t"$5}' "$tmp/v_target.tsv" | sort >"$tmp/ts"
  join -t $'\t' -a 1 -a 2 -e '-' -o '0,1.2,1.3,1.4,1.5,2.2,2.3,2.4,2.5' "$tmp/ss" "$tmp/ts" >"$tmp/sj"
  if [[ -s "$tmp/sj" ]]; then
    printf '   %-40s %12s %12s  %s\n' SEQUENCE "SOURCE" "TARGET" STATUS
  fi
  local sv scall tv tcall
  while IFS=$'\t' read -r key ss stbl sv scall ts ttbl tv tcall; do
    schema=$ss; table=$stbl
    [[ "$schema" == - ]] && { schema=$ts; table=$ttbl; }
    if [[ "$sv" == "$tv" && "$scall" == "$tcall" ]]; then status=ok; else status=MISMATCH; mismatches=$((mismatches + 1)); bad_tables+=("sequence $schema.$table"); fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$schema" "$table" "$sv" "$scall" "$tv" "$tcall" "$status" >>"$tmp/sequences.tsv"
    printf '   %-40s %12s %12s  %s\n' "$key" "$sv($scall)" "$tv($tcall)" "$status"
  done <"$tmp/sj"

  # Extensions: every extension copied from the source must be installed on the target.
  local name ver sch tver
  while IFS=$'\t' read -r name ver sch; do
    [[ -n "$name" ]] || continue
    tver=$(awk -F'\t' -v n="$name" '$1 == "E" && $2 == n {print $3}' "$tmp/v_target.tsv")
    if [[ -n "$tver" ]]; then status=ok; else status=MISMATCH; tver=-; mismatches=$((mismatches + 1)); bad_tables+=("extension $name"); fi
    printf '%s\t%s\t%s\t%s\n' "$name" "$ver" "$tver" "$status" >>"$tmp/extensions.tsv"
  done <<<"$src_exts"
  if [[ -s "$tmp/extensions.tsv" ]]; then
    say "   extensions: $(awk -F'\t' '{printf "%s%s %s->%s %s", sep, $1, $2, $3, $4; sep=", "}' "$tmp/extensions.tsv")"
  fi
  progress verify "$mismatches mismatch(es)"
  if [[ $mismatches -gt 0 ]]; then
    fail 4 "verification FAILED: $mismatches mismatch(es): ${bad_tables[*]}"
  fi
  say "   verification passed: $(wc -l <"$tmp/tables.tsv") tables, $(wc -l <"$tmp/sequences.tsv") sequences, $(wc -l <"$tmp/extensions.tsv") extensions"
}

finish_ok() {
  phase=finished
  mark_target complete "verified: $(wc -l <"$tmp/tables.tsv") tables, $(wc -l <"$tmp/sequences.tsv") sequences"
  result=ok
  say "== done: target marked complete ($MARKER_SCHEMA.status run $run_id)"
}
