#!/usr/bin/env bash
# bench.sh: time scripts/box/migrate-db (dump, restore, verify) on a generated PostGIS dataset, to size the
# write-freeze window of a dump-mode cutover. Creates two scratch databases on the given server, and
# drops them at the end.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/box/migrate/bench.sh --server URL [--rows N] [--jobs N]

  --server URL   superuser URL of a PostgreSQL server with PostGIS (its database is only used to
                 create and drop the scratch databases migrate_bench_src / migrate_bench_dst)
  --rows N       rows in the main table (default 1000000); a second table without a primary key
                 gets N/4 rows
  --jobs N       passed to migrate-db (default 2)
Prints the database size and the seconds spent in dump, restore and verification.
EOF
}

server=''
rows=1000000
jobs=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --server) server=${2:-}; shift 2 ;;
    --rows) rows=${2:-}; shift 2 ;;
    --jobs) jobs=${2:-}; shift 2 ;;
    *) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ "$server" =~ ^postgres(ql)?:// ]] || { echo "bench.sh: --server must be a postgresql:// URL" >&2; exit 2; }
[[ "$rows" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --rows '$rows' is not a positive whole number" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --jobs '$jobs' is not a positive whole number" >&2; exit 2; }

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
db_url() { # replace the database of $server
  local base=${server%%\?*} query=""
  [[ "$server" == *\?* ]] && query="?${server#*\?}"
  printf '%s/%s%s' "${base%/*}" "$1" "$query"
}
src=$(db_url migrate_bench_src)
dst=$(db_url migrate_bench_dst)
report=$(mktemp)
cleanup() {
  psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS migrate_bench_src" -c "DROP DATABASE IF EXISTS migrate_bench_dst" || true
  rm -f "$report"
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d "$server" -c "DROP DATABASE IF EXISTS migrate_bench_src" -c "DROP DATABASE IF EXISTS migrate_bench_dst" \
  -c "CREATE DATABASE migrate_bench_src" -c "CREATE DATABASE migrate_bench_dst"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" <<SQL
CREATE EXTENSION postgis;
CREATE TABLE public.points (id bigserial PRIMARY KEY, name text, g geometry(Point, 4326), at timestamptz DEFAULT now(), payload jsonb);
INSERT INTO public.points (name, g, payload)
  SELECT 'p' || i, ST_SetSRID(ST_MakePoint(35 + i / 1e6, 31 + i / 1e6), 4326), jsonb_build_object('i', i, 's', md5(i::text))
  FROM generate_series(1, $rows) i;
CREATE INDEX ON public.points USING gist (g);
CREATE TABLE public.no_pk AS SELECT * FROM public.points WHERE id % 4 = 0;
SQL
size=$(psql -X -At -d "$src" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
start=$SECONDS
"$here/../migrate-db" --source "$src" --target "$dst" --jobs "$jobs" --yes --report "$report" >/dev/null
total=$((SECONDS - start))
echo "rows: $rows (+ $((rows / 4)) without primary key), database size: $size, jobs: $jobs"
jq -r '.progress[] | select(.event == "dump" or .event == "restore") | .detail' "$report"
jq -r '[.progress[] | select(.event == "restore" or .event == "verify") | .time | fromdateiso8601] | "verify: \(.[1] - .[0]) s"' "$report"
echo "total (preflight to done): $total s"
