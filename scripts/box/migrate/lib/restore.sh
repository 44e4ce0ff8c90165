# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: pg_restore of a directory dump, with a filtered TOC and progress.
# data_is_empty DUMP ID: true when the directory-format data file of TOC entry ID holds no rows.
data_is_empty() {
  local f
  if [[ -f "$1/$2.dat.gz" ]]; then f=$(gzip -dc "$1/$2.dat.gz")
  elif [[ -f "$1/$2.dat" ]]; then f=$(cat "$1/$2.dat")
  else return 1; fi
  ! grep -qv -e '^\\\.$' -e '^$' <<<"$f"
}

# filtered_toc DUMP OUT: pg_restore's list without the schema entries (created above), and without the
# empty data of extension tables (e.g. PostGIS's spatial_ref_sys: only user-added rows are dumped, and
# a non-superuser may not even COPY zero rows into it).
filtered_toc() {
  local dump=$1 out=$2 id schema table line
  pg_restore -l "$dump" | awk '
    /^;/ { print; next }
    / SCHEMA - / { next }
    / COMMENT - SCHEMA public / { next }
    { print }' >"$out.all"
  : >"$out"
  while IFS= read -r line; do
    if [[ "$line" =~ ^([0-9]+)\;\ [0-9]+\ [0-9]+\ TABLE\ DATA\ ([^ ]+)\ ([^ ]+)\  ]]; then
      id=${BASH_REMATCH[1]}; schema=${BASH_REMATCH[2]}; table=${BASH_REMATCH[3]}
      if grep -qxF -- "$schema.$table" <<<"$ext_tables" && data_is_empty "$dump" "$id"; then
        say "   skipping $schema.$table: extension table, no user rows in the dump"
        continue
      fi
    fi
    printf '%s\n' "$line" >>"$out"
  done <"$out.all"
  rm -f "$out.all"
}

restore_with_progress() { # dump toc
  local dump=$1 toc=$2 total n=0 line tbl t_start=$SECONDS
  total=$(grep -c ' TABLE DATA ' "$toc" || true)
  set +e
  with_pw target pg_restore --verbose --jobs="$jobs" --no-owner --no-privileges --exit-on-error \
    --use-list="$toc" --dbname="$(side_url target)" "$dump" 2>&1 |
    while IFS= read -r line; do
      printf '%s\n' "$line" >>"$tmp/restore.log"
      if [[ "$line" =~ processing\ data\ for\ table\ \"(.*)\" ]]; then
        n=$((n + 1)); tbl=${BASH_REMATCH[1]}
        printf '   [%d/%d] copying %s\n' "$n" "$total" "$tbl"
        printf '%s\t%s\t%s\n' "$(now_iso)" "table data" "$tbl" >>"$tmp/progress.tsv"
      elif [[ "$line" =~ finished\ item\ [0-9]+\ TABLE\ DATA\ (.*)$ ]]; then
        printf '   finished %s (%ds)\n' "${BASH_REMATCH[1]}" "$((SECONDS - t_start))"
      elif [[ "$line" =~ ^pg_restore:\ (error|warning): ]]; then
        printf '   %s\n' "$(mask_any "$line")"
      fi
    done
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}
