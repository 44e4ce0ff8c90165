# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: connection URLs, sessions and queries (q, qf, qs), and the connection check.
# ------------------------------------------------------------------------------------------------- URLs
# split_url URL PREFIX: sets PREFIX_url (password removed), PREFIX_pw, PREFIX_masked, PREFIX_host.
# Percent-decoding as libpq does it ('+' stays '+'; a literal backslash stays a backslash).
urldecode() { local s=${1//\\/\\\\}; printf '%b' "${s//%/\\x}"; }
split_url() {
  local url=$1 prefix=$2 opt=${3:-$2} rest userinfo user pw="" hostpart query="" kept=() kv
  if [[ ! "$url" =~ ^(postgres|postgresql):// ]]; then
    echo "$TOOL: --$opt is not a postgresql:// URL (got '$(mask_any "$url")'); use postgresql://user:password@host:port/database" >&2
    exit 2
  fi
  rest=${url#*://}
  if [[ "$rest" == *\?* ]]; then query=${rest#*\?}; rest=${rest%%\?*}; fi
  hostpart=$rest
  userinfo=
  if [[ "${rest%%/*}" == *@* ]]; then
    local authority=${rest%%/*} path=
    [[ "$rest" == */* ]] && path=/${rest#*/}
    userinfo=${authority%@*}
    hostpart=${authority##*@}$path
  fi
  user=${userinfo%%:*}
  [[ "$userinfo" == *:* ]] && pw=$(urldecode "${userinfo#*:}")
  if [[ -n "$query" ]]; then
    IFS='&' read -r -a kvs <<<"$query"
    for kv in "${kvs[@]}"; do
      if [[ "$kv" == password=* ]]; then pw=$(urldecode "${kv#password=}"); else kept+=("$kv"); fi
    done
  fi
  local q=""
  if [[ ${#kept[@]} -gt 0 ]]; then q="?$(IFS='&'; echo "${kept[*]}")"; fi
  local userpart=""
  [[ -n "$user" ]] && userpart="$user@"
  printf -v "${prefix}_url_nopw" '%s' "postgresql://${userpart}${hostpart}${q}"
  printf -v "${prefix}_pw" '%s' "$pw"
  if [[ -n "$pw" ]]; then
    printf -v "${prefix}_masked" '%s' "postgresql://${user}:***@${hostpart}${q}"
  else
    printf -v "${prefix}_masked" '%s' "postgresql://${userpart}${hostpart}${q}"
  fi
  local h=${hostpart%%/*}
  h=${h%:*}
  printf -v "${prefix}_host" '%s' "$h"
}
# Masks anything that looks like a password inside a string (URLs, key=value, libpq messages).
mask_any() {
  sed -E -e 's#([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@ ]*):[^@ ]*@#\1:***@#g' -e 's#(password=)[^ &]*#\1***#g' <<<"$1"
}
# Set by split_url and connect_check, read directly or through ${!name}.
# shellcheck disable=SC2034
declare source_url_nopw="" source_pw="" source_masked="" source_host="" \
  target_url_nopw="" target_pw="" target_masked="" target_host="" \
  source_version_num=0 source_version="" source_super="" source_user="" source_db="" \
  target_version_num=0 target_version="" target_super="" target_user="" target_db="" \
  admin_url_nopw="" admin_pw="" admin_masked="" admin_host="" \
  admin_version_num=0 admin_version="" admin_super="" admin_user="" admin_db=""
priv_side="target"
# open_sides: splits --source, --target and --target-admin (exits 2 on a URL that is not postgresql://).
open_sides() {
  split_url "$source_url" source
  split_url "$target_url" target
  # The side that creates extensions and subscriptions on the target: the admin connection when given.
  priv_side="target"
  if [[ -n "$admin_url" ]]; then
    split_url "$admin_url" admin target-admin
    priv_side="admin"
  fi
}

# ----------------------------------------------------------------------------------------------- SQL
sql_lit() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
sql_ident() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }
sql_array() {
  local out="ARRAY[" first=1 x
  for x in "$@"; do
    [[ $first -eq 1 ]] || out+=","
    out+=$(sql_lit "$x"); first=0
  done
  printf '%s]::text[]' "$out"
}
# Deterministic text output for checksums, identical on both servers whatever their defaults; the tool's
# own sessions are not bound by a role-level write freeze (default_transaction_read_only) of the app.
readonly SESSION_SETUP="SET TimeZone='UTC'; SET DateStyle='ISO, YMD'; SET IntervalStyle='postgres'; SET extra_float_digits=1; SET bytea_output='hex'; SET search_path=pg_catalog; SET statement_timeout=0; SET lock_timeout='30s'; SET default_transaction_read_only=off;"

# with_pw SIDE cmd...: runs cmd with the side's password in PGPASSWORD (never on the command line).
# Every session of the tool, pg_dump's and pg_restore's included, starts with default_transaction_read_only
# off: a write freeze set on the application's role (ALTER ROLE ... SET default_transaction_read_only = on)
# holds the application, not the tool.
readonly SESSION_OPTIONS="-c default_transaction_read_only=off"
with_pw() {
  local side=$1; shift
  local pwvar="${side}_pw"
  if [[ -n "${!pwvar}" ]]; then
    PGPASSWORD="${!pwvar}" PGAPPNAME="$TOOL" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-15}" PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }$SESSION_OPTIONS" "$@"
  else
    PGAPPNAME="$TOOL" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-15}" PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }$SESSION_OPTIONS" "$@"
  fi
}
side_url() { local v="${1}_url_nopw"; printf '%s' "${!v}"; }
side_masked() { local v="${1}_masked"; printf '%s' "${!v}"; }

# q SIDE SQL: one query, tab-separated rows on stdout. Errors go to stderr (masked) and fail.
q() {
  local side=$1 sql=$2 out
  if ! out=$(with_pw "$side" psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$(side_url "$side")" -c "$SESSION_SETUP" -c "$sql" 2>"$tmp/psql.err"); then
    echo "$TOOL: query on $side ($(side_masked "$side")) failed: $(mask_any "$(cat "$tmp/psql.err")")" >&2
    return 1
  fi
  printf '%s' "$out"
}
# qs SIDE NAME [VAR=VALUE...]: runs migrate/sql/NAME.sql in one session, like q, with each VAR=VALUE given to
# psql -v: the file quotes them itself (:'var' a literal, :"var" an identifier, :var as is, e.g. an ARRAY[...]
# built by sql_array); marker_schema and repl_name are always set. psql interpolates variables in files, never
# in -c strings.
qs() {
  local side=$1 name=$2 out kv vars=(-v "marker_schema=$MARKER_SCHEMA" -v "repl_name=$REPL_NAME")
  shift 2
  for kv in "$@"; do vars+=(-v "$kv"); done
  if ! out=$(with_pw "$side" psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 ${vars[@]+"${vars[@]}"} -d "$(side_url "$side")" -c "$SESSION_SETUP" -f "$SQL_DIR/$name.sql" 2>"$tmp/psql.err"); then
    echo "$TOOL: query on $side ($(side_masked "$side")) failed: $(mask_any "$(cat "$tmp/psql.err")")" >&2
    return 1
  fi
  printf '%s' "$out"
}
# qf SIDE FILE: runs a SQL file in one session.
qf() {
  local side=$1 file=$2
  with_pw "$side" psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$(side_url "$side")" -c "$SESSION_SETUP" -f "$file" 2>"$tmp/psql.err" || {
    echo "$TOOL: SQL on $side ($(side_masked "$side")) failed: $(mask_any "$(cat "$tmp/psql.err")")" >&2
    return 1
  }
}

# --------------------------------------------------------------------------------------- connection
connect_check() { # side -> sets SIDE_version_num, SIDE_version, SIDE_super, SIDE_user, SIDE_db
  local side=$1 out
  if ! out=$(with_pw "$side" psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$(side_url "$side")" \
      -c "SELECT current_setting('server_version_num'), current_setting('server_version'), (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_user, current_database()" 2>"$tmp/conn.err"); then
    local err
    err=$(mask_any "$(tr '\n' ' ' <"$tmp/conn.err" | sed -E 's/ +$//')")
    record_check "connect $side" fail "cannot connect to the $side $(side_masked "$side"): $err"
    return 1
  fi
  IFS=$'\t' read -r v vs su usr db <<<"$out"
  printf -v "${side}_version_num" '%s' "$v"
  printf -v "${side}_version" '%s' "$vs"
  printf -v "${side}_super" '%s' "$su"
  printf -v "${side}_user" '%s' "$usr"
  printf -v "${side}_db" '%s' "$db"
  record_check "connect $side" ok "$(side_masked "$side") (PostgreSQL $vs, user $usr, superuser=$su)"
}
