# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: the preflight (nothing is written): schema selection and every check.
# --------------------------------------------------------------------------------- schema selection
copy_schemas=()
excluded_schemas=()
ext_owned_schemas=()
matches_any() { # name patterns...
  local name=$1 p; shift
  for p in "$@"; do
    # shellcheck disable=SC2053 # glob match on purpose
    [[ "$name" == $p ]] && return 0
  done
  return 1
}
resolve_schemas() {
  local all ext_owned pgroll_versions defaults=()
  all=$(qs source schemas-all) || return 1
  ext_owned=$(qs source schemas-extension-owned) || return 1
  if [[ "$provider" == xata ]]; then
    defaults=(pgroll xata xata_private)
    # pgroll's version schemas (<schema>_<migration>) hold only views over the real tables.
    pgroll_versions=$(qs source pgroll-present) || return 1
    if [[ "$pgroll_versions" == 1 ]]; then
      pgroll_versions=$(qs source pgroll-version-schemas) || return 1
      while IFS= read -r s; do [[ -n "$s" ]] && defaults+=("$s"); done <<<"$pgroll_versions"
    fi
  fi
  local s
  while IFS= read -r s; do
    [[ -n "$s" ]] || continue
    if grep -qxF -- "$s" <<<"$ext_owned"; then ext_owned_schemas+=("$s"); continue; fi
    if matches_any "$s" ${defaults[@]+"${defaults[@]}"} ${excludes[@]+"${excludes[@]}"}; then excluded_schemas+=("$s"); continue; fi
    if [[ ${#includes[@]} -gt 0 ]] && ! matches_any "$s" "${includes[@]}"; then excluded_schemas+=("$s"); continue; fi
    copy_schemas+=("$s")
  done <<<"$all"
  local p
  for p in ${includes[@]+"${includes[@]}"}; do
    local hit=0
    for s in ${copy_schemas[@]+"${copy_schemas[@]}"}; do
      # shellcheck disable=SC2053
      [[ "$s" == $p ]] && hit=1
    done
    [[ $hit -eq 1 ]] || { record_check "schemas" fail "--include-schema '$p' matches no copyable schema on the source (schemas there: $(tr '\n' ' ' <<<"$all"))"; return 1; }
  done
  if [[ ${#copy_schemas[@]} -eq 0 ]]; then
    record_check "schemas" fail "no schema left to copy after exclusions (source schemas: $(tr '\n' ' ' <<<"$all")); check --include-schema/--exclude-schema"
    return 1
  fi
  record_check "schemas" ok "copy: ${copy_schemas[*]}; excluded: ${excluded_schemas[*]:-none}; extension-owned: ${ext_owned_schemas[*]:-none}"
}

# ---------------------------------------------------------------------------------------- preflight
src_exts=""     # name<TAB>version<TAB>schema, extensions to recreate on the target
ext_tables=""   # schema.table of extension-owned tables in the copied schemas
compat_needed=0 # 1 when a shim from scripts/box/migrate/compat must be applied
preflight() {
  phase=preflight
  say "== preflight (nothing is written)"
  preflight_connect
  preflight_versions
  resolve_schemas || fail 3 "preflight failed: schema selection (see above); nothing was written to the target"
  local arr
  arr=$(sql_array "${copy_schemas[@]}")
  ext_tables=$(qs source extension-tables schemas="$arr") || fail 1 "could not list extension tables on the source"
  preflight_extensions
  preflight_cron
  preflight_references "$arr"
  preflight_target_empty "$arr"
  preflight_disk "$arr"
  [[ "$mode" == replicate ]] && preflight_replicate "$arr"

  if [[ $check_fail -gt 0 ]]; then
    fail 3 "preflight failed ($check_fail check(s)); nothing was written to the target"
  fi
  say "   preflight passed"
}

# Every side answers (exits 3 when one does not: the other checks need the connections).
preflight_connect() {
  local ok=1
  connect_check source || ok=0
  connect_check target || ok=0
  if [[ "$priv_side" == admin ]]; then connect_check admin || ok=0; fi
  [[ $ok -eq 1 ]] || fail 3 "preflight failed: cannot connect (see above); nothing was written to the target"
}

# Server and pg_dump majors; the admin connection (--target-admin) is a different role on the same database.
preflight_versions() {
  # Versions.
  local smaj=$((source_version_num / 10000)) tmaj=$((target_version_num / 10000)) dmaj
  dmaj=$(pg_dump --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
  if [[ $tmaj -lt $smaj && $allow_downgrade -eq 0 ]]; then
    record_check versions fail "target major $tmaj is older than source major $smaj; use a target running PostgreSQL >= $smaj (or --allow-version-downgrade for a rollback rehearsal)"
  elif [[ $dmaj -lt $smaj ]]; then
    record_check versions fail "pg_dump $dmaj cannot dump a PostgreSQL $smaj server; install postgresql-client-$smaj or newer"
  elif [[ $tmaj -lt $smaj ]]; then
    record_check versions warn "target major $tmaj is older than source major $smaj (allowed by --allow-version-downgrade)"
  else
    record_check versions ok "source $source_version, target $target_version, pg_dump $dmaj"
  fi
  if [[ "$priv_side" == admin ]]; then
    if [[ "$admin_db" != "$target_db" ]]; then
      record_check "target admin" fail "--target-admin connects to database $admin_db, --target to $target_db; point both at the same database"
    elif [[ "$admin_user" == "$target_user" ]]; then
      record_check "target admin" fail "--target-admin and --target are both $target_user; give the admin connection the master user (RDS) or postgres (box), or leave it out"
    else
      record_check "target admin" ok "$admin_user (superuser=$admin_super) creates extensions$( [[ "$mode" == replicate ]] && echo ' and the subscription'); $target_user owns the copy"
    fi
  fi
}

# Extensions used on the source (sets src_exts) are available on the target, and the creating role may create them.
preflight_extensions() {
  local exc_arr
  exc_arr=$(sql_array ${excluded_schemas[@]+"${excluded_schemas[@]}"} ${exclude_exts[@]+"${exclude_exts[@]}"})
  src_exts=$(qs source source-extensions excluded="$exc_arr") || fail 1 "could not list the source's extensions"
  local tgt_avail missing=() line name ver sch
  # 4th column: can the role that creates extensions (--target-admin, else --target) get it? Installed
  # already, superuser, a trusted extension and CREATE on the database, or on Amazon RDS a member of
  # rds_superuser, which may create every extension RDS supports ("Understanding the rds_superuser role",
  # RDS User Guide). PostGIS is not trusted, so on the box a superuser creates it beforehand.
  local priv_user_var="${priv_side}_user"
  local priv_user=${!priv_user_var}
  tgt_avail=$(qs "$priv_side" target-extensions) || fail 1 "could not list the target's available extensions"
  local no_rights=()
  while IFS=$'\t' read -r name ver sch; do
    [[ -n "$name" ]] || continue
    line=$(awk -F'\t' -v n="$name" '$1 == n' <<<"$tgt_avail")
    if [[ -z "$line" ]]; then missing+=("$name")
    elif [[ "$(cut -f4 <<<"$line")" != t ]]; then no_rights+=("$name"); fi
  done <<<"$src_exts"
  if [[ ${#missing[@]} -gt 0 ]]; then
    record_check extensions fail "used on the source but not available on the target: ${missing[*]}; install the package on the target server (e.g. postgresql-16-postgis-3), or --exclude-extension if the data doesn't need it"
  else
    record_check extensions ok "$(awk -F'\t' 'NF {printf "%s%s %s", sep, $1, $2; sep=", "}' <<<"$src_exts")${src_exts:+ }available on the target"
  fi
  if [[ ${#no_rights[@]} -gt 0 && ( "$action" == copy || "$action" == preflight ) ]]; then
    local create_cmd="psql -d $target_db" e
    for e in "${no_rights[@]}"; do create_cmd+=" -c 'CREATE EXTENSION $e'"; done
    record_check "extension rights" fail "target role $priv_user may not create ${no_rights[*]} (not a trusted extension); create it first as a superuser (on the box: sudo -u postgres $create_cmd; on RDS: the same psql command as the master user), or pass --target-admin, then rerun"
  fi
}

# pg_cron jobs of this database on the source: warned about, never copied.
preflight_cron() {
  # pg_cron keeps its jobs in its own schema (cron), which belongs to the extension and is never copied.
  local cron_state
  # (Through the catalog: even to_regclass('cron.job') fails without USAGE on the schema.)
  cron_state=$(qs source cron-state) || fail 1 "could not inspect pg_cron on the source"
  if [[ "$cron_state" == readable ]]; then
    cron_state=$(qs source cron-jobs) || fail 1 "could not count the source's pg_cron jobs"
    if [[ "$cron_state" -gt 0 ]]; then
      record_check "pg_cron jobs" warn "$cron_state job(s) of this database on the source are not copied (cron.job belongs to the extension); recreate them on the target after the cutover: SELECT jobname, schedule, command FROM cron.job"
    else
      record_check "pg_cron jobs" ok "no pg_cron job of this database on the source"
    fi
  elif [[ "$cron_state" == hidden ]]; then
    record_check "pg_cron jobs" warn "$source_user may not read cron.job on the source; list the jobs as a superuser and recreate them on the target after the cutover"
  fi
}

# ARRAY: references from copied objects into excluded schemas have a compatibility definition (sets compat_needed).
preflight_references() {
  local arr=$1
  # (e.g. defaults calling xata_private.xid())
  local refs provided unresolved=() name
  refs=$(qs source excluded-references schemas="$arr") || fail 1 "could not inspect dependencies on the source"
  if [[ -n "$refs" ]]; then
    provided=""
    if [[ "$provider" == xata ]]; then
      provided=$(sed -n -E 's/^-- provides: (.*)$/\1/p' "$COMPAT_DIR"/*.sql 2>/dev/null || true)
    fi
    while IFS= read -r name; do
      [[ -n "$name" ]] || continue
      grep -qxF -- "$name" <<<"$provided" || unresolved+=("$name")
    done <<<"$refs"
    if [[ ${#unresolved[@]} -gt 0 ]]; then
      record_check references fail "copied objects call functions in excluded schemas with no compatibility definition: ${unresolved[*]}; include that schema (--include-schema) or create the function on the target first"
    else
      compat_needed=1
      record_check references ok "copied objects call $(tr '\n' ' ' <<<"$refs")- provided on the target from scripts/box/migrate/compat/"
    fi
  else
    record_check references ok "no copied object references an excluded schema"
  fi
}

# ARRAY: the target holds nothing in the copied schemas and no marker of an earlier run (copy), or what it holds (other actions).
preflight_target_empty() {
  local arr=$1
  local tgt_tables marker_state
  tgt_tables=$(qs target target-relations schemas="$arr") || fail 1 "could not inspect the target"
  marker_state=$(qs target marker-exists) || fail 1 "could not inspect the target's marker"
  if [[ "$marker_state" == t ]]; then
    marker_state=$(qs target marker-last-state) || fail 1 "could not read the target's marker"
  else
    marker_state=""
  fi
  if [[ "$action" == verify || "$action" == status || "$action" == cutover || "$action" == abort ]]; then
    record_check "target state" info "$tgt_tables relations in the copied schemas; last marker: ${marker_state:-none}"
  elif [[ "$tgt_tables" -gt 0 || -n "$marker_state" ]]; then
    if [[ $allow_nonempty -eq 1 ]]; then
      record_check "target empty" warn "target has $tgt_tables relations in ${copy_schemas[*]} (last marker: ${marker_state:-none}); continuing because of --allow-nonempty"
    else
      record_check "target empty" fail "target $(side_masked target) is not empty: $tgt_tables relations in ${copy_schemas[*]}${marker_state:+, and a previous run marked \"$marker_state\"}; recreate the database (dropdb/createdb) or pass --allow-nonempty"
    fi
  else
    record_check "target empty" ok "no relations in ${copy_schemas[*]}"
  fi
}

# ARRAY: room for the copy on the target (1.5x the source, when local) and for the dump in the work dir.
preflight_disk() {
  local arr=$1
  local src_size tgt_dir avail need host=$target_host
  if ! src_size=$(qs source database-size 2>/dev/null); then
    # Some hosted servers don't let every role read the size; estimate from the tables the role can see.
    src_size=$(qs source visible-size schemas="$arr") || fail 1 "could not read the source size"
  fi
  need=$((src_size * 3 / 2))
  if [[ -z "$host" || "$host" == localhost || "$host" == 127.0.0.1 || "$host" == "[::1]" || "$host" == /* || "$target_url_nopw" == *host=/* ]]; then
    tgt_dir=$(qs target data-directory 2>/dev/null || true)
    if [[ -n "$tgt_dir" && -d "$tgt_dir" ]]; then
      avail=$(df -P -B1 "$tgt_dir" | awk 'NR == 2 {print $4}')
      if [[ "$avail" -lt "$need" ]]; then
        record_check "disk headroom" fail "target filesystem of $tgt_dir has $((avail / 1048576)) MiB free; the source is $((src_size / 1048576)) MiB and the copy needs about $((need / 1048576)) MiB (1.5x); grow the /data volume first"
      else
        record_check "disk headroom" ok "source $((src_size / 1048576)) MiB; target $tgt_dir has $((avail / 1048576)) MiB free (needs ~$((need / 1048576)) MiB)"
      fi
    else
      record_check "disk headroom" warn "source $((src_size / 1048576)) MiB; target free space unknown (data_directory not readable here); check df on the target host: needs ~$((need / 1048576)) MiB"
    fi
  else
    record_check "disk headroom" warn "source $((src_size / 1048576)) MiB; target $host is remote, free space unknown; check df /data on the target host: needs ~$((need / 1048576)) MiB"
  fi
  if [[ "$mode" == dump && ( "$action" == copy || "$action" == preflight ) ]]; then
    local wd=${work_dir:-${TMPDIR:-/tmp}} wavail
    wavail=$(df -P -B1 "$wd" | awk 'NR == 2 {print $4}')
    if [[ "$wavail" -lt $((src_size / 2)) ]]; then
      record_check "dump space" fail "work dir $wd has $((wavail / 1048576)) MiB free; the compressed dump of a $((src_size / 1048576)) MiB database may not fit; use --work-dir on a larger disk"
    else
      record_check "dump space" ok "work dir $wd has $((wavail / 1048576)) MiB free"
    fi
  fi
}

preflight_replicate() {
  local arr=$1 out wal slots used senders rights noident
  out=$(qs source replication-settings) || fail 1 "could not read the source's replication settings"
  IFS=$'\t' read -r wal slots used senders rights <<<"$out"
  if [[ "$action" == copy || "$action" == preflight ]]; then
    if [[ "$wal" != logical ]]; then
      record_check "replication" fail "source wal_level=$wal; logical replication needs wal_level=logical. This source does not allow replicate mode: use --mode dump (with a write freeze)"
    elif [[ "$rights" != t ]]; then
      record_check "replication" fail "source user $source_user has no REPLICATION attribute (nor superuser/rds_replication); this source does not allow replicate mode: use --mode dump"
    elif [[ $((slots - used)) -lt 1 ]]; then
      record_check "replication" fail "source has no free replication slot (max_replication_slots=$slots, in use $used); free one or use --mode dump"
    else
      record_check "replication" ok "wal_level=logical, replication rights, slots $used/$slots, max_wal_senders=$senders"
    fi
    local leftovers
    leftovers=$(qs source replication-leftovers) || fail 1 "could not inspect publications on the source"
    if [[ -n "$leftovers" ]]; then
      record_check "previous replication" fail "the source still has the $leftovers '$REPL_NAME' of an earlier replicate run; finish it (--cutover) or remove it (--abort) first"
    fi
    noident=$(qs source replica-identity schemas="$arr") || fail 1 "could not inspect replica identities"
    if [[ -n "$noident" ]]; then
      record_check "replica identity" fail "tables without a primary key or replica identity (UPDATE/DELETE on them would fail on the source once published): $noident; run ALTER TABLE ... REPLICA IDENTITY FULL on the source, or use --mode dump"
    else
      record_check "replica identity" ok "every copied table has a primary key or a replica identity"
    fi
    preflight_subscriber
  fi
}

# Who creates the subscription (--target-admin, else --target), and what PostgreSQL 16 asks of a
# subscription owner that is not a superuser (CREATE SUBSCRIPTION, "Notes"): pg_create_subscription, a
# password in the connection string (password_required), and, since the apply worker switches to each
# table's owner (run_as_owner = false), the right to SET ROLE to the role that owns the copy. On Amazon
# RDS the master user is a member of rds_superuser, which AWS's logical replication guide uses to create
# subscriptions. Before 16, only a superuser may create one.
preflight_subscriber() {
  local user_var="${priv_side}_user" super_var="${priv_side}_super" ver_var="${priv_side}_version_num"
  local user=${!user_var} super=${!super_var} ver=$((${!ver_var} / 10000)) out can_sub=f can_set=t
  if [[ "$super" == t ]]; then
    record_check "subscription rights" ok "$user creates the subscription (superuser)"
    return 0
  fi
  if [[ $ver -ge 16 ]]; then
    out=$(qs "$priv_side" subscription-rights target_user="$target_user") || fail 1 "could not read the subscription rights of $user"
    IFS=$'\t' read -r can_sub can_set <<<"$out"
  fi
  if [[ "$can_sub" != t ]]; then
    record_check "subscription rights" fail "$user may not CREATE SUBSCRIPTION on PostgreSQL $ver (it needs superuser, or pg_create_subscription on 16+); pass --target-admin with a role that may (RDS: the master user; box: postgres), or on 16+ GRANT pg_create_subscription TO $user"
    return 0
  fi
  if [[ -z "$source_pw" ]]; then
    record_check "subscription rights" fail "$user is not a superuser, so its subscription must log in to the source with a password (password_required); put the password of $source_user into --source"
  elif [[ "$can_set" != t ]]; then
    record_check "subscription rights" fail "$user may not SET ROLE $target_user, and the subscription's apply worker acts as the owner of the copied tables; run GRANT $target_user TO $user on the target"
  else
    record_check "subscription rights" ok "$user may create subscriptions and act as $target_user"
  fi
}
