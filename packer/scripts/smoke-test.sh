#!/usr/bin/env bash
# Smoke test of the provisioned AMI, run on the Packer build instance after provision.sh. Any failure fails
# the build, so no AMI is created and the publish step never runs.
#
# Usage: smoke-test.sh [--help]
#
# Checks: every service is enabled and none is running; nothing lives on the root disk under /data or
# /var/lib/postgresql; every unit passes systemd-analyze verify; postgresql.conf and pg_hba.conf load into a
# scratch PostgreSQL 16 cluster (in a temporary directory, not /data) where PostGIS and pg_cron install;
# redis.conf loads into a scratch Redis on a Unix socket with the intended persistence and memory settings;
# restic (>= 0.17), AWS CLI v2, the CloudWatch agent, jq and mkfs.xfs run; the API binary is an arm64 ELF.
# Exit: 0 all checks passed; 1 a check failed (the message names it).
# `cond && ok ... || bad ...` is safe here: ok() only prints and never fails.
# shellcheck disable=SC2015
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

fail=0
ok() { printf 'smoke: ok    %s\n' "$*"; }
bad() { printf 'smoke: FAIL  %s\n' "$*" >&2; fail=1; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

PG_BIN=/usr/lib/postgresql/16/bin
PG_ETC=/etc/postgresql/16/main
scratch=$(mktemp -d /var/tmp/zmanim-smoke.XXXXXX)
chmod 0755 "$scratch"
cleanup() {
  [[ -f "$scratch/pg/postmaster.pid" ]] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$scratch/pg" -m immediate -w stop >/dev/null 2>&1
  [[ -S "$scratch/redis/redis.sock" ]] && redis-cli -s "$scratch/redis/redis.sock" -a smoke --no-auth-warning shutdown nosave >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- units: enabled, not running, valid -----------------------------------------------------------------------
for u in postgresql@16-main.service redis-server.service zmanim-api.service zmanim-backup.timer \
  zmanim-restore-drill.timer amazon-cloudwatch-agent.service; do
  [[ "$(systemctl is-enabled "$u" 2>/dev/null)" == enabled ]] && ok "$u is enabled" || bad "$u is not enabled"
done
for u in postgresql@16-main.service redis-server.service zmanim-api.service; do
  systemctl is-active --quiet "$u" && bad "$u is running on the build instance" || ok "$u is not running"
done
[[ ! -e /var/lib/postgresql/16/main ]] && ok "no PostgreSQL cluster on the root disk" || bad "/var/lib/postgresql/16/main exists"
[[ ! -e /data/postgres && ! -e /data/redis ]] && ok "nothing under /data on the root disk" || bad "/data holds data on the root disk"
units=(/etc/systemd/system/zmanim-*.service /etc/systemd/system/zmanim-*.timer)
if out=$(systemd-analyze verify "${units[@]}" postgresql@16-main.service redis-server.service 2>&1) && [[ -z "$out" ]]; then
  ok "systemd-analyze verify: ${#units[@]} units"
else
  bad "systemd-analyze verify: $out"
fi
for d in postgresql@16-main redis-server; do
  systemctl show -p RequiresMountsFor "$d.service" | grep -q '/data' && ok "$d requires the /data mount" || bad "$d lacks RequiresMountsFor=/data"
done

# --- PostgreSQL: the shipped files parse, and a scratch cluster runs with them --------------------------------
[[ "$(runuser -u postgres -- "$PG_BIN/postgres" -C data_directory -c config_file="$PG_ETC/postgresql.conf" 2>/dev/null)" == /data/postgres/16/main ]] &&
  ok "postgresql.conf parses (data_directory /data/postgres/16/main)" || bad "postgresql.conf does not parse or has the wrong data_directory"
install -d -o postgres -g postgres -m 0700 "$scratch/pg" "$scratch/pgsock"
if runuser -u postgres -- "$PG_BIN/initdb" -D "$scratch/pg" -E UTF8 --locale=C.UTF-8 --auth-local=peer >/dev/null 2>&1 &&
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$scratch/pg" -l "$scratch/pg.log" -w -t 60 start -o \
    "-c config_file=$PG_ETC/postgresql.conf -c data_directory=$scratch/pg -c hba_file=$PG_ETC/pg_hba.conf -c ident_file=$PG_ETC/pg_ident.conf -c external_pid_file= -c port=54329 -c listen_addresses= -c unix_socket_directories=$scratch/pgsock" >/dev/null 2>&1; then
  ok "PostgreSQL 16 starts with the shipped postgresql.conf and pg_hba.conf"
  psql_s() { runuser -u postgres -- psql -X -A -t -v ON_ERROR_STOP=1 -h "$scratch/pgsock" -p 54329 "$@"; }
  check "CREATE DATABASE zmanim" psql_s -d postgres -c 'CREATE DATABASE zmanim'
  check "CREATE EXTENSION postgis" psql_s -d zmanim -c 'CREATE EXTENSION postgis'
  check "CREATE EXTENSION pg_cron" psql_s -d zmanim -c 'CREATE EXTENSION pg_cron'
  [[ "$(psql_s -d zmanim -c 'SHOW shared_buffers')" == 512MB ]] && ok "shared_buffers = 512MB" || bad "shared_buffers is not 512MB"
  [[ "$(psql_s -d zmanim -c 'SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL')" == 0 ]] &&
    ok "pg_hba.conf has no errors" || bad "pg_hba.conf has errors"
else
  bad "PostgreSQL 16 does not start with the shipped configuration: $(tail -n 5 "$scratch/pg.log" 2>/dev/null)"
fi

# --- Redis: the shipped file loads (auth include pointed at a scratch file) ----------------------------------
install -d -o redis -g redis -m 0750 "$scratch/redis"
printf 'requirepass smoke\n' >"$scratch/redis/auth.conf"
# Redis changes into `dir` while parsing, and /data/redis does not exist here: point both at the scratch dir.
sed -e "s|^include /etc/redis/auth.conf\$|include $scratch/redis/auth.conf|" -e "s|^dir /data/redis\$|dir $scratch/redis|" \
  /etc/redis/redis.conf >"$scratch/redis/redis.conf"
chown -R redis:redis "$scratch/redis"
if runuser -u redis -- redis-server "$scratch/redis/redis.conf" --port 0 --unixsocket "$scratch/redis/redis.sock" \
  --dir "$scratch/redis" --logfile "$scratch/redis/redis.log" --pidfile "$scratch/redis/redis.pid" \
  --supervised no --daemonize yes >/dev/null 2>&1; then
  rcli() { redis-cli -s "$scratch/redis/redis.sock" -a smoke --no-auth-warning "$@"; }
  for _ in $(seq 1 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done
  [[ "$(rcli config get maxmemory | tail -n 1)" == 1073741824 ]] && ok "redis maxmemory 1gb" || bad "redis maxmemory is not 1gb"
  [[ "$(rcli config get appendonly | tail -n 1)" == yes ]] && ok "redis appendonly yes" || bad "redis appendonly is not yes"
else
  bad "redis-server does not start with the shipped redis.conf: $(tail -n 5 "$scratch/redis/redis.log" 2>/dev/null)"
fi

# --- binaries -----------------------------------------------------------------------------------------------
restic_v=$(/usr/local/bin/restic version 2>/dev/null | awk '{ print $2 }')
[[ "$restic_v" =~ ^0\.(1[7-9]|[2-9][0-9])\. ]] && ok "restic $restic_v" || bad "restic missing or older than 0.17 ('$restic_v')"
/usr/local/bin/aws --version 2>&1 | grep -q '^aws-cli/2\.' && ok "AWS CLI v2" || bad "AWS CLI v2 missing"
check "CloudWatch agent runs" /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent -version
check "jq runs" jq --version
check "mkfs.xfs runs" mkfs.xfs -V
check "update-binary.sh runs" /opt/zmanim/bin/update-binary.sh --help
check "backup.sh runs (finds lib/common.sh)" /opt/zmanim/bin/backup.sh --help
for s in backup.sh restore.sh restore-drill.sh notify-failure.sh update-binary.sh; do
  [[ -x "/opt/zmanim/bin/$s" ]] && ok "/opt/zmanim/bin/$s installed" || bad "/opt/zmanim/bin/$s missing"
done
# ELF, 64-bit, little-endian, e_machine 183 (EM_AARCH64).
header=$(od -A n -t x1 -N 20 /opt/zmanim/zmanim-api 2>/dev/null | tr -d ' \n')
[[ "$header" == 7f454c460201* && "${header:36:4}" == b700 ]] && ok "zmanim-api is an arm64 ELF binary" || bad "zmanim-api is not an arm64 ELF binary"
[[ -s /opt/zmanim/version.txt ]] && ok "version.txt: $(cat /opt/zmanim/version.txt)" || bad "/opt/zmanim/version.txt missing"

if [[ $fail -ne 0 ]]; then
  echo "smoke: FAILED; the AMI is not created and its id is not published" >&2
  exit 1
fi
echo "smoke: all checks passed"
