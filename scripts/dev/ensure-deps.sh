#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: npm dependencies (from the lock file) and
# the Debian packages behind the ops integration tests. Installs only what is missing; a second run is a
# no-op. Terraform is not a Debian package: tf-validate.sh reports it loudly when it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if [[ ! -d node_modules/.bin || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "ensure-deps: npm ci"
  npm ci --no-audit --no-fund
fi

missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_file() { compgen -G "$1" >/dev/null || missing+=("$2"); }

need_file "/usr/lib/postgresql/*/bin/initdb" postgresql
need_cmd psql postgresql-client
need_cmd curl curl
need_file "/usr/share/postgresql/*/extension/postgis.control" "postgresql-15-postgis-3"
need_file "/usr/share/postgresql/*/extension/pg_cron.control" "postgresql-15-cron"
need_cmd redis-server redis-server
need_cmd redis-cli redis-tools
need_cmd restic restic
need_cmd shellcheck shellcheck
need_cmd bats bats
need_cmd jq jq
need_cmd openssl openssl
need_cmd systemd-analyze systemd
need_cmd mkfs.ext4 e2fsprogs
need_cmd mkfs.xfs xfsprogs
need_cmd losetup mount
need_cmd blkid util-linux
need_cmd runuser util-linux
need_cmd hyperfine hyperfine
need_cmd dot graphviz
need_cmd flock util-linux
need_cmd python3 python3
need_cmd dig bind9-dnsutils
need_cmd nsd nsd
need_file /usr/bin/time time

if [[ ${#missing[@]} -gt 0 ]]; then
  # shellcheck disable=SC2207
  pkgs=($(printf '%s\n' "${missing[@]}" | sort -u))
  echo "ensure-deps: installing Debian packages: ${pkgs[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-deps: not root; run: sudo apt-get install -y ${pkgs[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
echo "ensure-deps: all dependencies present"
