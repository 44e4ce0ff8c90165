# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared between the phase files; checked together through scripts/box/migrate-db
# migrate-db: the help text, output helpers and the command line (parse_args).
usage() {
  cat <<'EOF'
Usage: scripts/box/migrate-db --source URL --target URL [options]

Copies the schemas of one PostgreSQL database into another with pg_dump/pg_restore (or logical
replication), then verifies every table: row count, an order-independent content checksum,
sequences, extensions, constraint and index counts. Nothing is written to the target before all
preflight checks pass. URLs are postgresql://user:password@host:port/db[?params]; passwords are
never printed (output and reports show user:***@host).

Connections
  --source URL              database to copy from (default: $MIGRATE_SOURCE_URL)
  --target URL              database to copy into (default: $MIGRATE_TARGET_URL); must exist
                            (createdb it first). Connect as its owner (the `zmanim` role on the box).
                            Use the environment variables to keep passwords out of shell history.
  --target-admin URL        a second connection to the same target database (default:
                            $MIGRATE_TARGET_ADMIN_URL) as a role that may create extensions and
                            subscriptions but should own none of the data: on Amazon RDS the master
                            user (a member of rds_superuser), on the box postgres. When given, it
                            creates the extensions the --target role may not create, and in replicate
                            mode it creates and drops the subscription; schema, data, sequences and
                            verification still run as the --target role, which owns everything copied.

What is copied
  --include-schema S        copy only schemas matching S (shell glob; repeatable). Default: every
                            schema that is not a system, extension-owned or excluded schema.
  --exclude-schema S        never copy schemas matching S (shell glob; repeatable); added to the
                            provider defaults.
  --provider NAME           provider-internal defaults: `xata` (default) excludes the schemas
                            pgroll, xata, xata_private and pgroll's version schemas (views only),
                            and supplies xata_private.xid() and xata_private's metadata trigger
                            on the target when copied tables still reference them; the xata_*
                            columns are data and are kept. `none`: no default exclusions.
  --exclude-extension E     do not require or create extension E on the target (repeatable).

How
  --mode dump|replicate     dump (default): pg_dump -Fd -j N, pg_restore -j N --no-owner
                            --no-privileges --exit-on-error, then verify.
                            replicate: copy the schema, publish on the source, subscribe on the
                            target, wait for the initial sync, and leave replication running.
                            Needs wal_level=logical and replication rights on the source; the
                            preflight says when the source does not allow it.
  --status                  (replicate) show per-table sync state and the replication lag.
  --cutover                 (replicate) after writes are frozen on the source: wait for zero lag
                            (bounded by --timeout), copy sequence values, verify, then drop the
                            subscription, the slot and the publication.
  --abort                   (replicate) drop the subscription, slot and publication; the target
                            stays marked incomplete.
  --jobs N                  parallel jobs for pg_dump, pg_restore and verification (default 4).
  --work-dir DIR            where the dump directory goes (default: a new directory under
                            $TMPDIR or /tmp); must have room for the compressed dump.
  --keep-dump               keep the dump directory after success (it is always kept on failure).
  --timeout SECONDS         bound for every wait in replicate mode (default 600).
  --poll SECONDS            how often replicate mode re-reads the sync state and the lag while it
                            waits (default 1; a decimal such as 0.2 is allowed).

Checks and safety
  --preflight-only          run the preflight checks only, write nothing (alias: --dry-run).
  --verify-only             compare source and target only, write nothing.
  --allow-nonempty          skip the "target is empty" check (see docs/migration.md: objects that
                            already exist still stop the restore, and the target stays marked
                            incomplete).
  --allow-version-downgrade allow a target whose major version is older than the source's
                            (rollback into an older server); the restore still stops on any error.
  --yes, -y                 do not ask for confirmation before writing to the target (required
                            when stdin is not a terminal).
  --report FILE             write a JSON report (checks, per-table results, verdict) to FILE;
                            written on success and on failure.
  -h, --help                show this help.

Marker
  Before the first write, the target gets a row in zmanim_migration.status with state
  'incomplete'; it becomes 'complete' only after verification passes. A failed or interrupted run
  leaves 'incomplete' (and the JSON report says where it stopped).

Exit status
  0 success; 1 runtime failure (copy, replication, timeout); 2 bad usage; 3 preflight failed
  (target untouched); 4 verification found a mismatch (the table is named).

Examples
  MIGRATE_SOURCE_URL='postgresql://ws:KEY@us-east-1.sql.xata.sh:5432/zmanim:main?sslmode=require' \
  MIGRATE_TARGET_URL='postgresql://zmanim:PW@127.0.0.1:5432/zmanim' \
    scripts/box/migrate-db --preflight-only
  scripts/box/migrate-db --jobs 4 --yes --report /var/tmp/migration.json
  scripts/box/migrate-db --verify-only --report /var/tmp/verify.json
  # The box -> Amazon RDS (docs/runbooks/scale-out.md): zmanim owns the copy, the master user subscribes.
  MIGRATE_TARGET_ADMIN_URL='postgresql://zmanim_master:PW@<rds-endpoint>:5432/zmanim?sslmode=verify-full&sslrootcert=/data/migrate/rds-ca.pem' \
    scripts/box/migrate-db --mode replicate --yes --report /data/migrate/scale-out-start.json
EOF
}

# ---------------------------------------------------------------------------------------------- output
die_usage() { echo "$TOOL: $*" >&2; echo "Run '$TOOL --help' for the options." >&2; exit 2; }
say() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$TOOL" "$*" >&2; }
now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# --------------------------------------------------------------------------------------------- options
# Defaults (the environment's URLs first), set by parse_args and read by every phase.
# shellcheck disable=SC2034 # read by the other phase files
{
  source_url=${MIGRATE_SOURCE_URL:-}
  target_url=${MIGRATE_TARGET_URL:-}
  admin_url=${MIGRATE_TARGET_ADMIN_URL:-}
  includes=()
  excludes=()
  exclude_exts=()
  provider=xata
  mode=dump
  action=copy
  jobs=4
  work_dir=
  keep_dump=0
  timeout=600
  poll=1
  allow_nonempty=0
  allow_downgrade=0
  assume_yes=0
  report_file=
}

need_arg() { [[ $# -ge 2 && -n "$2" ]] || die_usage "option $1 needs a value"; }
# check_args: after the dispatcher's option loop; exits 2 (with the fix) on bad usage or a missing tool.
check_args() {
  local s bin report_dir
  [[ -n "$source_url" ]] || die_usage "--source is required (or set MIGRATE_SOURCE_URL)"
  [[ -n "$target_url" ]] || die_usage "--target is required (or set MIGRATE_TARGET_URL)"
  [[ "$mode" == dump || "$mode" == replicate ]] || die_usage "--mode '$mode' is not valid; use dump or replicate"
  [[ "$provider" == xata || "$provider" == none ]] || die_usage "--provider '$provider' is not valid; use xata or none"
  [[ "$jobs" =~ ^[1-9][0-9]*$ && "$jobs" -le 64 ]] || die_usage "--jobs '$jobs' is not valid; use a whole number from 1 to 64"
  [[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout '$timeout' is not valid; use a whole number of seconds (e.g. 600)"
  if ! [[ "$poll" =~ ^([1-9][0-9]*|[0-9]*\.[0-9]*[1-9][0-9]*)$ && "${poll%%.*}" -le 60 ]]; then
    die_usage "--poll '$poll' is not valid; use seconds greater than 0 and at most 60 (e.g. 1 or 0.2)"
  fi
  if [[ "$action" == status || "$action" == cutover || "$action" == abort ]] && [[ "$mode" != replicate ]]; then
    die_usage "--$action belongs to replicate mode; add --mode replicate"
  fi
  for s in ${includes[@]+"${includes[@]}"} ${excludes[@]+"${excludes[@]}"}; do
    [[ "$s" != *$'\n'* && "$s" != *$'\t'* ]] || die_usage "schema pattern '$s' contains a tab or newline"
  done
  if [[ -n "$report_file" ]]; then
    report_dir=$(dirname -- "$report_file")
    [[ -d "$report_dir" && -w "$report_dir" ]] || die_usage "--report '$report_file': directory '$report_dir' does not exist or is not writable"
  fi
  if [[ -n "$work_dir" && ! -d "$work_dir" ]]; then
    die_usage "--work-dir '$work_dir' does not exist; create it first"
  fi
  for bin in psql pg_dump pg_restore jq; do
    command -v "$bin" >/dev/null 2>&1 || { echo "$TOOL: '$bin' is not installed (install postgresql-client and jq)" >&2; exit 2; }
  done
}
