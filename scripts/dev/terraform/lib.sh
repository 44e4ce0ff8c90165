# shellcheck shell=bash
# Shared by scripts/dev/tf-validate.sh and scripts/dev/tf-test.sh: find terraform and the local provider mirror, and
# write the project's own CLI configuration (cli.tfrc.template beside this file). Sourced, never run.

# tf_require LAYER: returns 0 when terraform is on PATH. Otherwise says so loudly on stderr and exits the
# calling script: 3 when ZMANIM_REQUIRE_TERRAFORM=1 (CI), else 0.
tf_require() {
  command -v terraform >/dev/null 2>&1 && return 0
  local what=$1
  echo "########################################################################" >&2
  printf '## %-66s ##\n' "terraform is NOT installed: $what" >&2
  echo "## Install Terraform >= 1.10 (https://developer.hashicorp.com/terraform) ##" >&2
  echo "########################################################################" >&2
  if [[ "${ZMANIM_REQUIRE_TERRAFORM:-0}" == "1" ]]; then exit 3; fi
  exit 0
}

# tf_find_mirror: prints the directory of a local filesystem mirror holding hashicorp/aws, or nothing.
tf_find_mirror() {
  if [[ -n "${TF_PROVIDER_MIRROR:-}" ]]; then echo "$TF_PROVIDER_MIRROR"; return; fi
  local candidates=(/opt/tf-plugins "$HOME/.terraform.d/plugins" /usr/local/share/terraform/plugins /usr/share/terraform/plugins)
  for c in "${candidates[@]}"; do
    if compgen -G "$c/registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*" >/dev/null; then
      echo "$c"; return
    fi
  done
  local hit
  hit=$(find / -xdev -path /proc -prune -o -name 'terraform-provider-aws_*' -print -quit 2>/dev/null || true)
  if [[ -n "$hit" && "$hit" == */registry.terraform.io/hashicorp/aws/* ]]; then
    echo "${hit%%/registry.terraform.io/*}"
  fi
}

# tf_use_cli_config ROOT WORKDIR: exports TF_CLI_CONFIG_FILE (the mirror and a plugin cache under
# ROOT/node_modules/.cache) and the non-interactive settings; sets tf_mirrored_providers to the mirror's
# "namespace/name" list ("" when providers come from the registry). Prints one line saying which.
tf_use_cli_config() {
  local root=$1 work=$2 mirror
  export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
  mirror=$(tf_find_mirror)
  tf_mirrored_providers=""
  if [[ -n "$mirror" ]]; then
    local cache="$root/node_modules/.cache/terraform-plugins"
    mkdir -p "$cache"
    sed -e "s#@MIRROR@#$mirror#" -e "s#@CACHE@#$cache#" "$root/scripts/dev/terraform/cli.tfrc.template" >"$work/cli.tfrc"
    export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
    # shellcheck disable=SC2012,SC2035 # provider directory names are namespace/name, no dashes first
    tf_mirrored_providers=$(cd "$mirror/registry.terraform.io" && ls -d */* 2>/dev/null | tr '\n' ' ')
    echo "provider mirror: $mirror ($tf_mirrored_providers)"
    tf_fill_plugin_cache "$cache"
  else
    # No mirror: use the registry with whatever CLI configuration the user has (or none).
    if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -f "$TF_CLI_CONFIG_FILE" ]]; then unset TF_CLI_CONFIG_FILE; fi
    echo "provider mirror: none found; providers come from the registry"
  fi
}

# tf_fill_plugin_cache CACHE: makes sure the plugin cache holds hashicorp/aws before inits run side by side.
# Terraform's plugin cache is not safe for concurrent writers: two inits that both find it empty race to create
# the same directory ("failed to create directory ... file exists"), and the test suite runs the validate and
# plan layers beside the ops tests, which init too. One init in a scratch directory, under a lock on the cache,
# fills it; a concurrent caller waits on the lock and then finds it full.
tf_fill_plugin_cache() {
  local cache=$1
  compgen -G "$cache/registry.terraform.io/hashicorp/aws/*/*" >/dev/null && return 0
  (
    flock 9
    compgen -G "$cache/registry.terraform.io/hashicorp/aws/*/*" >/dev/null && exit 0
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    echo '{"terraform":{"required_providers":{"aws":{"source":"hashicorp/aws"}}}}' >"$scratch/main.tf.json"
    if ! (cd "$scratch" && terraform init -backend=false -input=false -no-color >init.log 2>&1); then
      echo "warning: could not fill the terraform plugin cache $cache; parallel inits may race:" >&2
      sed 's/^/  /' "$scratch/init.log" >&2
    fi
  ) 9>"$cache/.lock"
}

# tf_unmirrored_providers FILE...: the required providers of the given Terraform JSON files that the mirror
# lacks, space-separated ("" when every one is mirrored or there is no mirror).
tf_unmirrored_providers() {
  [[ -n "${tf_mirrored_providers:-}" ]] || return 0
  jq -r '[.terraform.required_providers // {} | to_entries[] | (.value.source // .key) | ascii_downcase | split("/") | if length == 1 then "hashicorp/" + .[0] else .[-2:] | join("/") end] | .[]' "$@" |
    while read -r p; do [[ " $tf_mirrored_providers " == *" $p "* ]] || echo "$p"; done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
