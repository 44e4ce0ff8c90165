#!/usr/bin/env bash
# Benchmark of the backup pipeline (not a test): see --help. Numbers go to docs/backup-benchmark.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

usage() {
  cat <<'EOF'
Usage: scripts/dev/bench-backup.sh [--rows N] [--runs N] [--help]      (npm run bench:backup)

Builds a PostGIS dataset in a temporary PostgreSQL cluster, a Redis and an S3-compatible server (s3rver
over TLS, as in the integration tests), all on 127.0.0.1, then measures with hyperfine:
  1. pg_dump -Fc -Z0 > /dev/null                        (the reference)
  2. pg_dump -Fc -Z0 | restic backup --stdin            (the PostgreSQL stream of backup.sh), warm runs
     plus the first (cold) run that uploads everything
  3. backup.sh as a whole (PostgreSQL + roles + Redis + retention; Redis adds its
     repl-diskless-sync-delay of 5 s)
  4. the repository growth of a second backup.sh run on unchanged data
  5. restore.sh --postgres into a new database, including the row-count verification
Budget (ARCHITECTURE.md): 2 <= 1.5 x 1, and 4 <= 5 %.

Options:
  --rows N   rows in the PostGIS table (default 1000000)
  --runs N   hyperfine runs per command (default 3)
  -h, --help show this help

Variables: ZMANIM_PG_BINDIR (default: newest /usr/lib/postgresql/*/bin), TMPDIR.
EOF
}

rows=1000000 runs=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--rows needs a positive number, got '${2:-}'" >&2; exit 2; }; rows=$2; shift ;;
    --runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number, got '${2:-}'" >&2; exit 2; }; runs=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
  shift
done
for cmd in hyperfine restic pg_dump redis-server openssl node jq; do
  command -v "$cmd" >/dev/null || { echo "$cmd is missing; run scripts/dev/ensure-deps.sh" >&2; exit 1; }
done
bindir=${ZMANIM_PG_BINDIR:-$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' | sort -V | tail -1 | xargs dirname)}

work=$(mktemp -d "${TMPDIR:-/tmp}/zmanim-bench.XXXXXX")
chmod 0755 "$work"
as_pg=()
[[ $(id -u) -eq 0 ]] && as_pg=(runuser -u postgres --)
pg_started=0 redis_port="" s3_pid=""
cleanup() {
  local rc=$?
  set +e
  [[ $pg_started -eq 1 ]] && "${as_pg[@]}" "$bindir/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1
  [[ -n $redis_port ]] && redis-cli -p "$redis_port" SHUTDOWN NOSAVE >/dev/null 2>&1
  [[ -n $s3_pid ]] && kill "$s3_pid" 2>/dev/null && wait "$s3_pid" 2>/dev/null
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== servers in $work"
mkdir -p "$work/pg" "$work/sock" "$work/s3" "$work/redis"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$work/pg" "$work/sock"
"${as_pg[@]}" "$bindir/initdb" -D "$work/pg" -U postgres --auth=trust --no-sync >/dev/null
pg_port=$(port)
"${as_pg[@]}" "$bindir/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$work/sock -c shared_buffers=256MB -c max_wal_size=4GB" start >/dev/null
pg_started=1
redis_port=$(port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --daemonize yes --logfile "$work/redis/log" >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
node -e '
const S3rver = require(process.argv[1]); const fs = require("fs");
new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: process.argv[2], key: fs.readFileSync(process.argv[3]),
  cert: fs.readFileSync(process.argv[4]), configureBuckets: [{ name: "bench" }, { name: "cold" }] })
  .run().then((a) => fs.writeFileSync(process.argv[5], String(a.port)));
' "$root/node_modules/s3rver" "$work/s3" "$work/key.pem" "$work/cert.pem" "$work/s3.port" &
s3_pid=$!
for _ in $(seq 1 100); do [[ -s $work/s3.port ]] && break; sleep 0.1; done

export PGHOST=127.0.0.1 PGPORT=$pg_port PGUSER=postgres PGDATABASE=bench
export REDIS_HOST=127.0.0.1 REDIS_PORT=$redis_port
s3_url="https://127.0.0.1:$(cat "$work/s3.port")"
export RESTIC_REPOSITORY="s3:$s3_url/bench" RESTIC_CACERT=$work/cert.pem RESTIC_PASSWORD=bench
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export ZMANIM_RESTIC_ENV_FILE=/nonexistent ZMANIM_BACKUP_LOCK=$work/backup.lock RESTIC_CACHE_DIR=$work/restic-cache
unset ZMANIM_METRICS_NAMESPACE REDISCLI_AUTH PGPASSWORD

echo "== dataset: $rows PostGIS rows"
psql -X -q -d postgres -c "CREATE DATABASE bench"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION postgis;
CREATE TABLE locations (id bigint PRIMARY KEY, name text NOT NULL, tz text NOT NULL,
  geom geometry(Point, 4326) NOT NULL, area geometry(Polygon, 4326) NOT NULL);
INSERT INTO locations
  SELECT i, 'location ' || i, CASE WHEN i % 3 = 0 THEN 'Asia/Jerusalem' ELSE 'America/New_York' END,
         ST_SetSRID(ST_MakePoint(-74 + (i % 1000) / 1000.0, 40 + (i / 1000) / 1000.0), 4326),
         ST_Buffer(ST_SetSRID(ST_MakePoint(35 + (i % 500) / 500.0, 31 + (i / 500) / 5000.0), 4326), 0.001, 2)
  FROM generate_series(1, $rows) AS i;
CREATE INDEX locations_geom ON locations USING gist (geom);
VACUUM ANALYZE locations;
SQL
for i in $(seq 1 1000); do echo "SET zman:$i value-$i"; done | redis-cli -p "$redis_port" >/dev/null
dump_bytes=$(pg_dump -Fc -Z0 -d bench | wc -c)
echo "pg_dump -Fc -Z0 size: $((dump_bytes / 1024 / 1024)) MiB; database: $(psql -XAtc "SELECT pg_size_pretty(pg_database_size('bench'))")"

repo_bytes() { find "$work/s3/bench" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

echo "== cold stream: pg_dump | restic backup --stdin into an empty repository"
restic --cacert "$RESTIC_CACERT" -r "s3:$s3_url/cold" init >/dev/null
start=$(date +%s.%N)
pg_dump -Fc -Z0 -d bench | restic --cacert "$RESTIC_CACERT" -r "s3:$s3_url/cold" backup --stdin --stdin-filename postgres.dump -q >/dev/null
cold=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "cold: ${cold} s"
echo "== first backup.sh run (creates the repository)"
bash "$root/scripts/box/backup.sh" --init --no-check >"$work/first.log" 2>&1 || { cat "$work/first.log"; exit 1; }

echo "== hyperfine"
hyperfine --style basic --runs "$runs" --warmup 1 --export-json "$work/hf.json" \
  -n 'pg_dump -Fc -Z0 > /dev/null' "pg_dump -Fc -Z0 -d bench > /dev/null" \
  -n 'pg_dump -Fc -Z0 | restic backup --stdin' "pg_dump -Fc -Z0 -d bench | restic --cacert $RESTIC_CACERT backup --stdin --stdin-filename postgres.dump -q" \
  -n 'backup.sh (postgres + roles + redis + retention)' "bash $root/scripts/box/backup.sh --no-check" \
  -n 'restore.sh --postgres (+ verification)' --prepare "psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS bench_restored'" \
  "bash $root/scripts/box/restore.sh --postgres --target-db bench_restored"

echo "== growth of a second backup.sh run on unchanged data"
before=$(repo_bytes)
bash "$root/scripts/box/backup.sh" --no-check >"$work/second.log" 2>&1
after=$(repo_bytes)
added=$(grep -o 'Added to the repository: .* stored)' "$work/second.log" | sed -E 's/.*\(([0-9.]+) (B|KiB|MiB|GiB) stored\)/\1 \2/' |
  awk '{ m = ($2 == "KiB") ? 1024 : ($2 == "MiB") ? 1048576 : ($2 == "GiB") ? 1073741824 : 1; s += $1 * m } END { printf "%d", s }')

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$work/hf.json"; }
ref=$(median 'pg_dump -Fc -Z0 > /dev/null')
pipe=$(median 'pg_dump -Fc -Z0 | restic backup --stdin')
full=$(median 'backup.sh (postgres + roles + redis + retention)')
restore=$(median 'restore.sh --postgres (+ verification)')
echo
echo "== results ($rows rows, dump $((dump_bytes / 1024 / 1024)) MiB, $(nproc) CPUs, restic $(restic version | awk '{print $2}'))"
printf 'pg_dump -Fc -Z0 > /dev/null (median)         %8.2f s\n' "$ref"
printf 'pg_dump | restic backup --stdin (median)     %8.2f s  = %.2fx the reference (budget 1.5x)\n' "$pipe" "$(awk -v a="$pipe" -v b="$ref" 'BEGIN{print a/b}')"
printf 'cold stream into an empty repository         %8.2f s  = %.2fx\n' "$cold" "$(awk -v a="$cold" -v b="$ref" 'BEGIN{print a/b}')"
printf 'backup.sh whole run (median)                 %8.2f s  (includes Redis repl-diskless-sync-delay 5 s, tag, retention)\n' "$full"
printf 'restore.sh --postgres + verification (median)%8.2f s\n' "$restore"
printf 'second run: stored %d bytes = %.3f %% of the repository (%d bytes); repository after retention: %+.3f %% (budget 5 %%)\n' \
  "$added" "$(awk -v a="$added" -v b="$before" 'BEGIN{print 100*a/b}')" "$before" "$(awk -v a="$after" -v b="$before" 'BEGIN{print 100*(a-b)/b}')"
