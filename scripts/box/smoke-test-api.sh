#!/usr/bin/env bash
# smoke-test-api.sh: call every API endpoint in a checklist file and compare status codes and JSON shapes.
# Used in the cutover (docs/runbooks/cutover.md) against the new stack before and after the DNS switch.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/box/smoke-test-api.sh --base-url URL [options]

Calls each endpoint listed in the checklist file and checks the HTTP status and, optionally, the
JSON body with a jq expression that must be true. Prints one line per endpoint and exits non-zero
when any check fails.

Options
  --base-url URL        scheme://host[:port] of the API, e.g. https://api.zmanim.shtetl.io or the
                        API Gateway URL before DNS points at it (default: $SMOKE_BASE_URL).
  --endpoints FILE      checklist (default: scripts/box/migrate/endpoints.txt next to this script).
  --timeout SECONDS     bound for each request, connect included (default 10).
  --token-env VAR       name of an environment variable holding a bearer token; lines marked AUTH
                        are sent with "Authorization: Bearer $VAR" and are skipped without it.
  --resolve H:P:ADDR    pass curl --resolve (test a new origin for a hostname before DNS moves);
                        repeatable.
  --insecure            accept a self-signed TLS certificate (rehearsals only).
  -h, --help            show this help.

Checklist format (one endpoint per line; # starts a comment):
  [AUTH] METHOD PATH EXPECTED_STATUS [JQ_EXPRESSION]
  GET /api/health 200 .status == "ok"
  GET /api/v1/me 401
  AUTH GET /api/v1/me 200 has("id")

Exit status: 0 all passed; 1 a check failed; 2 bad usage or unreadable checklist.
EOF
}

die_usage() { echo "smoke-test-api: $*" >&2; echo "Run 'smoke-test-api.sh --help' for the options." >&2; exit 2; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base_url=${SMOKE_BASE_URL:-}
endpoints="$script_dir/migrate/endpoints.txt"
timeout=10
token_env=
resolves=()
insecure=0
need_arg() { [[ $# -ge 2 && -n "$2" ]] || die_usage "option $1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --base-url) need_arg "$@"; base_url=$2; shift 2 ;;
    --endpoints) need_arg "$@"; endpoints=$2; shift 2 ;;
    --timeout) need_arg "$@"; timeout=$2; shift 2 ;;
    --token-env) need_arg "$@"; token_env=$2; shift 2 ;;
    --resolve) need_arg "$@"; resolves+=(--resolve "$2"); shift 2 ;;
    --insecure) insecure=1; shift ;;
    *) die_usage "unknown option '$1'" ;;
  esac
done

[[ -n "$base_url" ]] || die_usage "--base-url is required (or set SMOKE_BASE_URL), e.g. https://api.zmanim.shtetl.io"
[[ "$base_url" =~ ^https?://[^/[:space:]]+(/[^[:space:]]*)?$ ]] || die_usage "--base-url '$base_url' is not an http(s) URL; use e.g. https://api.zmanim.shtetl.io"
base_url=${base_url%/}
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout '$timeout' is not valid; use a whole number of seconds (e.g. 10)"
[[ -r "$endpoints" ]] || die_usage "--endpoints '$endpoints' is not a readable file"
token=
if [[ -n "$token_env" ]]; then
  [[ "$token_env" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die_usage "--token-env '$token_env' is not a variable name"
  token=${!token_env:-}
  [[ -n "$token" ]] || die_usage "--token-env $token_env: the variable is empty or unset"
fi
for bin in curl jq; do command -v "$bin" >/dev/null 2>&1 || die_usage "'$bin' is not installed"; done

# Validate the whole checklist before calling anything.
lineno=0
checks=()
while IFS= read -r raw || [[ -n "$raw" ]]; do
  lineno=$((lineno + 1))
  line=${raw%%#*}
  [[ "$line" =~ ^[[:space:]]*$ ]] && continue
  read -r first rest <<<"$line"
  auth=0
  if [[ "$first" == AUTH ]]; then auth=1; line=$rest; fi
  read -r method path status expr <<<"$line"
  [[ "$method" =~ ^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$ ]] || die_usage "$endpoints:$lineno: method '$method' is not an HTTP method (line: $raw)"
  [[ "$path" == /* ]] || die_usage "$endpoints:$lineno: path '$path' must start with / (line: $raw)"
  [[ "$status" =~ ^[1-5][0-9][0-9]$ ]] || die_usage "$endpoints:$lineno: expected status '$status' is not an HTTP status (line: $raw)"
  if [[ -n "${expr:-}" ]] && ! jq -n "if false then ($expr) else true end" >/dev/null 2>&1; then
    die_usage "$endpoints:$lineno: '$expr' is not a valid jq expression"
  fi
  checks+=("$auth"$'\t'"$method"$'\t'"$path"$'\t'"$status"$'\t'"${expr:-}")
done <"$endpoints"
[[ ${#checks[@]} -gt 0 ]] || die_usage "$endpoints has no endpoints"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl_opts=(--silent --show-error --max-time "$timeout" --connect-timeout "$timeout" --output "$tmp/body" --write-out '%{http_code} %{time_total}')
[[ $insecure -eq 1 ]] && curl_opts+=(--insecure)
[[ ${#resolves[@]} -gt 0 ]] && curl_opts+=("${resolves[@]}")

echo "smoke test: $base_url ($endpoints, ${#checks[@]} endpoints, timeout ${timeout}s)"
passed=0 failed=0 skipped=0
for c in "${checks[@]}"; do
  IFS=$'\t' read -r auth method path status expr <<<"$c"
  label="$method $path"
  [[ $auth -eq 1 ]] && label="$label (auth)"
  if [[ $auth -eq 1 && -z "$token" ]]; then
    printf 'SKIP  %-60s needs --token-env\n' "$label"; skipped=$((skipped + 1)); continue
  fi
  hdrs=(-H "Accept: application/json")
  [[ $auth -eq 1 ]] && hdrs+=(-H "Authorization: Bearer $token")
  method_opt=(-X "$method")
  [[ "$method" == HEAD ]] && method_opt=(--head)
  : >"$tmp/body"
  if ! out=$(curl "${curl_opts[@]}" "${method_opt[@]}" "${hdrs[@]}" "$base_url$path" 2>"$tmp/err"); then
    printf 'FAIL  %-60s request failed: %s\n' "$label" "$(tr '\n' ' ' <"$tmp/err")"; failed=$((failed + 1)); continue
  fi
  code=${out%% *} secs=${out#* }
  if [[ "$code" != "$status" ]]; then
    printf 'FAIL  %-60s expected %s, got %s (%ss); body: %s\n' "$label" "$status" "$code" "$secs" "$(head -c 200 "$tmp/body" | tr '\n' ' ')"
    failed=$((failed + 1)); continue
  fi
  if [[ -n "$expr" ]]; then
    if ! jq -e . "$tmp/body" >/dev/null 2>&1; then
      printf 'FAIL  %-60s %s but the body is not JSON: %s\n' "$label" "$code" "$(head -c 200 "$tmp/body" | tr '\n' ' ')"
      failed=$((failed + 1)); continue
    fi
    if ! jq -e "$expr" "$tmp/body" >/dev/null 2>&1; then
      printf 'FAIL  %-60s %s but the JSON check is not true: %s; body: %s\n' "$label" "$code" "$expr" "$(head -c 200 "$tmp/body" | tr '\n' ' ')"
      failed=$((failed + 1)); continue
    fi
  fi
  printf 'PASS  %-60s %s (%ss)\n' "$label" "$code" "$secs"
  passed=$((passed + 1))
done
echo "smoke test: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
