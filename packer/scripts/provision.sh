#!/usr/bin/env bash
# Provisions the Zmanim AMI on the Packer build instance (Ubuntu 24.04 arm64). Runs as root, once per build;
# running it again on the same instance changes nothing that is already in place.
#
# Usage: provision.sh [--help]
#        provision.sh verify-signature FILE SIGNATURE KEYFILE FINGERPRINT
#          checks only that SIGNATURE is a valid signature of FILE by the key with primary FINGERPRINT (the
#          check provisioning applies to the AWS CLI and the CloudWatch agent); use it when bumping a pin.
#
# Installs, all pinned: the Ubuntu packages (exact versions, from a dated archive snapshot), restic (upstream
# release, sha256 verified), AWS CLI v2 and the CloudWatch agent (both verified against AWS's signing keys by
# fingerprint). Installs the configuration files, scripts and systemd units uploaded by the template, and
# enables the services WITHOUT starting them: there is no /data on the build instance, and nothing may run
# against the root disk. Ubuntu's default PostgreSQL cluster on the root disk is never created (or is
# removed). Nothing is installed at runtime: automatic apt updates are disabled; patches arrive as new AMIs.
#
# Settings (environment, set by the template from its variables; all required):
#   ZMANIM_STAGING        directory the template uploaded files/, scripts/ and zmanim-api into
#   ZMANIM_API_VERSION    version of the API binary baked in (written to /opt/zmanim/version.txt)
#   APT_SNAPSHOT          Ubuntu archive snapshot id, e.g. 20260920T000000Z
#   APT_PACKAGES          space-separated name=version pins
#   RESTIC_VERSION        e.g. 0.17.3 (at least 0.17: backups use --stdin-from-command)
#   RESTIC_SHA256         sha256 of restic_<version>_linux_arm64.bz2 from the release's SHA256SUMS
#   AWSCLI_VERSION        e.g. 2.22.35
#   AWSCLI_KEY_FINGERPRINT     fingerprint of the AWS CLI Team signing key (40 hex digits)
#   CWAGENT_VERSION       CloudWatch agent version, e.g. 1.300073.2b1889
#   CWAGENT_KEY_FINGERPRINT    fingerprint of the CloudWatch agent signing key (40 hex digits)
#   CWAGENT_REGION        region whose agent bucket is used
# Exit: 0 provisioned; 1 a step failed (the message names it); 2 missing or malformed settings.
set -euo pipefail

log() { printf '==> provision: %s\n' "$*" >&2; }
die() { printf '==> provision: ERROR: %s\n' "$*" >&2; exit 1; }
bad() { printf '==> provision: ERROR: %s\n' "$*" >&2; exit 2; }

# verify_signed FILE SIGNATURE KEYFILE FINGERPRINT: the signature must be valid and made by the key whose
# primary fingerprint is pinned (gpg's VALIDSIG status line; its last field is the primary key fingerprint).
verify_signed() {
  local file=$1 sig=$2 key=$3 fpr=$4 home status
  home=$(mktemp -d)
  gpg --homedir "$home" --batch --quiet --import "$key" 2>/dev/null || { rm -rf "$home"; die "cannot import the signing key $key for $(basename "$file")"; }
  status=$(gpg --homedir "$home" --batch --status-fd 1 --verify "$sig" "$file" 2>/dev/null || true)
  rm -rf "$home"
  awk -v f="$fpr" '$2 == "VALIDSIG" && $NF == f { ok = 1 } END { exit !ok }' <<<"$status" ||
    die "signature check of $(basename "$file") failed: no valid signature by key $fpr; refusing to install"
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
if [[ "${1:-}" == verify-signature ]]; then
  [[ $# -eq 5 ]] || bad "verify-signature needs FILE SIGNATURE KEYFILE FINGERPRINT; see --help"
  [[ "$5" =~ ^[0-9A-F]{40}$ ]] || bad "fingerprint '$5' must be 40 uppercase hex digits without spaces"
  verify_signed "$2" "$3" "$4" "$5"
  log "$(basename "$2"): valid signature by $5"
  exit 0
fi
[[ $# -eq 0 ]] || { echo "provision: unknown argument '$1'; see --help" >&2; exit 2; }

for v in ZMANIM_STAGING ZMANIM_API_VERSION APT_SNAPSHOT APT_PACKAGES RESTIC_VERSION RESTIC_SHA256 AWSCLI_VERSION \
  AWSCLI_KEY_FINGERPRINT CWAGENT_VERSION CWAGENT_KEY_FINGERPRINT CWAGENT_REGION; do
  [[ -n "${!v:-}" ]] || bad "$v is not set; the template passes it from the variable of the same meaning (packer/variables.pkr.hcl)"
done
[[ "$APT_SNAPSHOT" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || bad "APT_SNAPSHOT='$APT_SNAPSHOT' is not a snapshot id like 20260920T000000Z"
[[ "$RESTIC_SHA256" =~ ^[0-9a-f]{64}$ ]] || bad "RESTIC_SHA256='$RESTIC_SHA256' is not 64 lowercase hex digits (from restic's SHA256SUMS)"
[[ "$RESTIC_VERSION" =~ ^0\.(1[7-9]|[2-9][0-9])\.[0-9]+$ ]] || bad "RESTIC_VERSION='$RESTIC_VERSION' must be 0.17.0 or later (--stdin-from-command)"
[[ "$AWSCLI_VERSION" =~ ^2\.[0-9]+\.[0-9]+$ ]] || bad "AWSCLI_VERSION='$AWSCLI_VERSION' must be an exact AWS CLI v2 version like 2.22.35"
[[ "$CWAGENT_VERSION" =~ ^1\.[0-9]+\.[0-9a-z]+$ ]] || bad "CWAGENT_VERSION='$CWAGENT_VERSION' must be an exact agent version like 1.300073.2b1889"
for fpr in "$AWSCLI_KEY_FINGERPRINT" "$CWAGENT_KEY_FINGERPRINT"; do
  [[ "$fpr" =~ ^[0-9A-F]{40}$ ]] || bad "key fingerprint '$fpr' must be 40 uppercase hex digits without spaces"
done
read -r -a packages <<<"$APT_PACKAGES"
for p in "${packages[@]}"; do
  [[ "$p" =~ ^[a-z0-9][a-z0-9.+-]*=[0-9A-Za-z.+:~-]+$ ]] || bad "APT_PACKAGES entry '$p' is not pinned as name=version"
done
[[ "$(dpkg --print-architecture)" == arm64 ]] || die "this AMI is arm64 (Graviton); the build instance is $(dpkg --print-architecture)"

files="$ZMANIM_STAGING/files"
scripts="$ZMANIM_STAGING/scripts"
for f in "$ZMANIM_STAGING/zmanim-api" "$files/bin/update-binary.sh" "$scripts/backup.sh" "$scripts/restore.sh" \
  "$scripts/restore-drill.sh" "$scripts/notify-failure.sh" "$scripts/lib/common.sh" "$scripts/migrate-db" \
  "$scripts/smoke-test-api.sh" "$scripts/migrate/endpoints.txt" "$scripts/migrate/lib/args.sh" "$scripts/migrate/sql/verify.sql"; do
  [[ -s "$f" ]] || die "missing upload $f; check the file provisioners in packer/zmanim-ami.pkr.hcl"
done

export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confold -y -q "$@"; }
work=$(mktemp -d)
# policy-rc.d keeps package scripts from starting services during the build (redis-server's postinst would
# start it on the root disk).
cleanup() { rm -rf "$work" /usr/sbin/policy-rc.d; }
trap cleanup EXIT
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# --- 1. Ubuntu packages -------------------------------------------------------------------------------------
if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || true; fi
log "disabling automatic apt runs (the AMI is immutable; patches arrive as new AMIs)"
systemctl disable --now apt-daily.timer apt-daily-upgrade.timer unattended-upgrades.service 2>/dev/null || true
cat >/etc/apt/apt.conf.d/20auto-upgrades <<'CONF'
APT::Periodic::Update-Package-Lists "0";
APT::Periodic::Unattended-Upgrade "0";
CONF
# Every package version resolves against one dated snapshot of the archive, so the pins stay installable.
printf 'APT::Snapshot "%s";\n' "$APT_SNAPSHOT" >/etc/apt/apt.conf.d/50zmanim-snapshot
# No default cluster: PostgreSQL's data lives on /data, and user data initializes it there.
install -d -m 0755 /etc/postgresql-common/createcluster.d
printf 'create_main_cluster = false\n' >/etc/postgresql-common/createcluster.d/50-zmanim.conf

log "apt: installing ${packages[*]} (snapshot $APT_SNAPSHOT)"
apt_get update
if ! apt_get install --no-install-recommends "${packages[@]}"; then
  die "apt could not install the pinned packages; a pin is not in snapshot $APT_SNAPSHOT. Find the version with 'apt-cache policy <name>' (with APT::Snapshot set) and update apt_packages in packer/variables.pkr.hcl"
fi
names=()
for p in "${packages[@]}"; do names+=("${p%%=*}"); done
apt-mark hold "${names[@]}" >/dev/null

# --- 2. restic (upstream release, sha256 pinned) ------------------------------------------------------------
if [[ -x /usr/local/bin/restic ]] && /usr/local/bin/restic version | grep -q "^restic $RESTIC_VERSION "; then
  log "restic $RESTIC_VERSION already installed"
else
  asset="restic_${RESTIC_VERSION}_linux_arm64.bz2"
  log "restic: downloading $asset"
  curl -fsSL --retry 5 -o "$work/$asset" "https://github.com/restic/restic/releases/download/v$RESTIC_VERSION/$asset"
  echo "$RESTIC_SHA256  $work/$asset" | sha256sum --check --quiet - ||
    die "sha256 of $asset is $(sha256sum "$work/$asset" | cut -d' ' -f1), expected RESTIC_SHA256=$RESTIC_SHA256; refusing to install"
  bunzip2 -c "$work/$asset" >"$work/restic"
  install -o root -g root -m 0755 "$work/restic" /usr/local/bin/restic
fi

# --- 3. AWS CLI v2 (pinned version, signature by the AWS CLI Team key) ---------------------------------------
if [[ -x /usr/local/bin/aws ]] && /usr/local/bin/aws --version 2>&1 | grep -q "^aws-cli/$AWSCLI_VERSION "; then
  log "AWS CLI $AWSCLI_VERSION already installed"
else
  zip="awscli-exe-linux-aarch64-$AWSCLI_VERSION.zip"
  log "AWS CLI: downloading $zip"
  curl -fsSL --retry 5 -o "$work/$zip" "https://awscli.amazonaws.com/$zip"
  curl -fsSL --retry 5 -o "$work/$zip.sig" "https://awscli.amazonaws.com/$zip.sig"
  # AWS publishes this key in its install guide and on public keyservers; it is fetched by full fingerprint,
  # and verify_signed checks the fingerprint again.
  gpg --homedir "$work" --batch --quiet --keyserver hkps://keyserver.ubuntu.com --recv-keys "$AWSCLI_KEY_FINGERPRINT" 2>/dev/null ||
    die "cannot fetch the AWS CLI signing key $AWSCLI_KEY_FINGERPRINT from keyserver.ubuntu.com"
  gpg --homedir "$work" --batch --export --armor "$AWSCLI_KEY_FINGERPRINT" >"$work/awscli.asc"
  verify_signed "$work/$zip" "$work/$zip.sig" "$work/awscli.asc" "$AWSCLI_KEY_FINGERPRINT"
  unzip -q -o "$work/$zip" -d "$work/awscli"
  "$work/awscli/aws/install" --update --install-dir /usr/local/aws-cli --bin-dir /usr/local/bin >/dev/null
fi

# --- 4. CloudWatch agent (pinned .deb, signature by the CloudWatch agent key) ---------------------------------
if [[ "$(dpkg-query -W -f='${Version}' amazon-cloudwatch-agent 2>/dev/null || true)" == "$CWAGENT_VERSION"* ]]; then
  log "CloudWatch agent $CWAGENT_VERSION already installed"
else
  base="https://amazoncloudwatch-agent-$CWAGENT_REGION.s3.$CWAGENT_REGION.amazonaws.com"
  log "CloudWatch agent: downloading $CWAGENT_VERSION"
  curl -fsSL --retry 5 -o "$work/cwagent.deb" "$base/ubuntu/arm64/$CWAGENT_VERSION/amazon-cloudwatch-agent.deb"
  curl -fsSL --retry 5 -o "$work/cwagent.deb.sig" "$base/ubuntu/arm64/$CWAGENT_VERSION/amazon-cloudwatch-agent.deb.sig"
  # The key is fetched from the agent's global bucket; verify_signed pins its fingerprint.
  curl -fsSL --retry 5 -o "$work/cwagent.gpg" "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg"
  verify_signed "$work/cwagent.deb" "$work/cwagent.deb.sig" "$work/cwagent.gpg" "$CWAGENT_KEY_FINGERPRINT"
  dpkg -i "$work/cwagent.deb" >/dev/null
fi

# --- 5. Users and directories --------------------------------------------------------------------------------
if ! id -u zmanim >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /opt/zmanim --no-create-home --shell /usr/sbin/nologin zmanim
fi
install -d -o root -g root -m 0755 /opt/zmanim /opt/zmanim/bin /opt/zmanim/bin/lib /etc/zmanim
install -d -o root -g root -m 0700 /etc/restic /var/cache/restic
install -d -o zmanim -g zmanim -m 0755 /var/log/zmanim
install -d -o postgres -g postgres -m 0755 /etc/postgresql/16/main

# --- 6. PostgreSQL: drop any cluster on the root disk; the shipped configuration points at /data -------------
if [[ -d /var/lib/postgresql/16/main ]]; then
  log "removing the default PostgreSQL cluster on the root disk"
  pg_dropcluster --stop 16 main 2>/dev/null || true
  rm -rf /var/lib/postgresql/16/main
fi
install -o postgres -g postgres -m 0644 "$files/postgresql/postgresql.conf" /etc/postgresql/16/main/postgresql.conf
install -o postgres -g postgres -m 0644 "$files/postgresql/pg_hba.conf" /etc/postgresql/16/main/pg_hba.conf
install -o postgres -g postgres -m 0640 "$files/postgresql/pg_ident.conf" /etc/postgresql/16/main/pg_ident.conf
printf 'auto\n' | install -o postgres -g postgres -m 0644 /dev/stdin /etc/postgresql/16/main/start.conf
printf '# pg_ctl options for pg_ctlcluster\n' | install -o postgres -g postgres -m 0644 /dev/stdin /etc/postgresql/16/main/pg_ctl.conf
printf '# environment for the postmaster\n' | install -o postgres -g postgres -m 0644 /dev/stdin /etc/postgresql/16/main/environment

# --- 7. Redis --------------------------------------------------------------------------------------------------
systemctl stop redis-server.service 2>/dev/null || true
install -o redis -g redis -m 0640 "$files/redis/redis.conf" /etc/redis/redis.conf
rm -f /var/lib/redis/dump.rdb
rm -rf /var/lib/redis/appendonlydir

# --- 8. The API, its template and the on-box scripts --------------------------------------------------------
install -o root -g root -m 0755 "$ZMANIM_STAGING/zmanim-api" /opt/zmanim/zmanim-api
printf '%s\n' "$ZMANIM_API_VERSION" >/opt/zmanim/version.txt
chmod 0644 /opt/zmanim/version.txt
install -o root -g root -m 0644 "$files/zmanim/config.env.template" /opt/zmanim/config.env.template
install -o root -g root -m 0755 "$files/bin/update-binary.sh" /opt/zmanim/bin/update-binary.sh
for s in backup.sh restore.sh restore-drill.sh notify-failure.sh migrate-db smoke-test-api.sh; do
  install -o root -g root -m 0755 "$scripts/$s" "/opt/zmanim/bin/$s"
done
# The scripts source their shared functions from lib/ next to themselves.
install -o root -g root -m 0644 "$scripts/lib/common.sh" /opt/zmanim/bin/lib/common.sh
# The migration tools find their files next to themselves: migrate-db (a dispatcher) sources its phases from
# bin/migrate/lib and runs its queries from bin/migrate/sql, its compatibility SQL is in bin/migrate/compat;
# the smoke test reads its endpoint checklist (bin/migrate/endpoints.txt). The benchmark stays in the repository.
install -d -o root -g root -m 0755 /opt/zmanim/bin/migrate /opt/zmanim/bin/migrate/compat \
  /opt/zmanim/bin/migrate/lib /opt/zmanim/bin/migrate/sql
install -o root -g root -m 0644 "$scripts/migrate/endpoints.txt" /opt/zmanim/bin/migrate/endpoints.txt
install -o root -g root -m 0644 "$scripts"/migrate/compat/*.sql /opt/zmanim/bin/migrate/compat/
install -o root -g root -m 0644 "$scripts"/migrate/lib/*.sh /opt/zmanim/bin/migrate/lib/
install -o root -g root -m 0644 "$scripts"/migrate/sql/*.sql /opt/zmanim/bin/migrate/sql/
install -o root -g root -m 0644 "$files/logrotate/zmanim" /etc/logrotate.d/zmanim

# --- 9. systemd units: installed and enabled, never started here --------------------------------------------
for u in "$files"/systemd/*.service "$files"/systemd/*.timer; do
  install -o root -g root -m 0644 "$u" "/etc/systemd/system/$(basename "$u")"
done
for d in "$files"/systemd/*.d; do
  install -d -o root -g root -m 0755 "/etc/systemd/system/$(basename "$d")"
  install -o root -g root -m 0644 "$d"/*.conf "/etc/systemd/system/$(basename "$d")/"
done
systemctl daemon-reload
systemctl enable postgresql@16-main.service redis-server.service zmanim-api.service \
  zmanim-backup.timer zmanim-restore-drill.timer amazon-cloudwatch-agent.service
systemctl stop zmanim-api.service redis-server.service postgresql@16-main.service postgresql.service 2>/dev/null || true

# --- 10. Leave nothing behind ----------------------------------------------------------------------------------
apt_get clean
rm -rf /var/lib/apt/lists/*
log "done"
