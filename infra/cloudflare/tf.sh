#!/usr/bin/env bash
# OpenTofu for every Cloudflare resource (R2 buckets and their lifecycle, KV, D1, the workers'
# custom domains, DNS), from the configuration lib/tofu.nix renders from the inventory.
#
#   infra/cloudflare/tf.sh plan            render, init, show the plan
#   infra/cloudflare/tf.sh apply [--yes]   render, init, plan, ask, apply exactly that plan
#   infra/cloudflare/tf.sh <tofu args…>    anything else (output, import, state list, …)
#
# apply never runs without a plan made in the same run: it saves the plan, shows it, asks
# (unless --yes), then applies that saved plan, so what is applied is what was shown.
# Needs: CLOUDFLARE_API_TOKEN (else decrypted from secrets/cloudflare-api-token.age with the
# SSH key in AGE_IDENTITY, default ~/.ssh/id_ed25519), and AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY of an R2 token for the state bucket (cloudflare.stateBucket).
# INVENTORY_FILE evaluates another inventory; TOFU names the binary (default tofu);
# TF_WORK_DIR the directory it works in (default cloudflare/.work, not committed).
set -euo pipefail

infra_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${TF_WORK_DIR:-$infra_dir/cloudflare/.work}
tofu=${TOFU:-tofu}

if [[ $# -eq 0 ]]; then sed -n '5,7p' "$0" | sed 's/^# *//' >&2; exit 2; fi
command -v "$tofu" >/dev/null || { echo "tf.sh: $tofu not found (nix shell nixpkgs#opentofu)" >&2; exit 1; }

# Render first: evaluating also validates the inventory, so a broken one stops here.
eval_args=(--eval --strict --json "$infra_dir/eval.nix" -A tofu)
if [[ -n ${INVENTORY_FILE:-} ]]; then eval_args+=(--argstr inventoryFile "$(realpath "$INVENTORY_FILE")"); fi
mkdir -p "$work"
nix-instantiate "${eval_args[@]}" >"$work/main.tf.json.new"
mv "$work/main.tf.json.new" "$work/main.tf.json"

if [[ -z ${CLOUDFLARE_API_TOKEN:-} ]]; then
  CLOUDFLARE_API_TOKEN=$(age --decrypt --identity "${AGE_IDENTITY:-$HOME/.ssh/id_ed25519}" \
    "$infra_dir/secrets/cloudflare-api-token.age")
  export CLOUDFLARE_API_TOKEN
fi

tf() { "$tofu" -chdir="$work" "$@"; }
tf init -input=false >&2

case "$1" in
  plan)
    shift
    tf plan -input=false "$@"
    ;;
  apply)
    shift
    yes=0
    if [[ ${1:-} == --yes ]]; then yes=1; shift; fi
    rm -f "$work/tfplan"
    tf plan -input=false -out=tfplan "$@"
    if [[ $yes -eq 0 ]]; then
      read -r -p "Apply this plan? [y/N] " answer || answer=
      [[ $answer == y || $answer == yes ]] || { echo "tf.sh: not applied" >&2; exit 1; }
    fi
    tf apply -input=false tfplan
    ;;
  *)
    tf "$@"
    ;;
esac
