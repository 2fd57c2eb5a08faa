#!/usr/bin/env bash
# Deploys hosts from the inventory with nixos-rebuild.
#
#   infra/deploy.sh [--dry-run] [--action switch|boot|test|dry-activate] [--build-local] (--all | --role ROLE | HOST...)
#
# Each host is built and activated with
#   nixos-rebuild <action> --flake infra#<host> --target-host root@<fqdn> --build-host root@<fqdn> --use-substitutes
# Building on the target itself (not here) means an aarch64 builder is built on aarch64,
# and the closure's paths come from substituters there instead of being copied from a
# laptop; --build-local builds on this machine instead.
# Hosts go builders first, then mail, Hydra last (it should only ever see builders that
# are already on the new configuration); a failure stops the run.
# --dry-run prints the commands and touches nothing; --action dry-activate is
# nixos-rebuild's own dry run (builds, then shows what activation would change).
set -euo pipefail

infra_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  sed -n '4p' "$0" | sed 's/^# *//' >&2
  exit 2
}

dry_run=0
action=switch
build_local=0
select_all=0
role=
hosts=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --action) action=${2:?--action needs a value}; shift ;;
    --build-local) build_local=1 ;;
    --all) select_all=1 ;;
    --role) role=${2:?--role needs a value}; shift ;;
    -h|--help) usage ;;
    -*) echo "deploy.sh: unknown option $1" >&2; usage ;;
    *) hosts+=("$1") ;;
  esac
  shift
done
case "$action" in switch|boot|test|dry-activate) ;; *) echo "deploy.sh: unknown action $action" >&2; exit 2 ;; esac
if [[ $select_all -eq 0 && -z $role && ${#hosts[@]} -eq 0 ]]; then usage; fi

# "<name> <role> <system> <target>" per host, in deploy order. Evaluating it also validates
# the inventory, so a broken inventory stops here, before anything is built.
eval_args=(--extra-experimental-features nix-command eval --raw --file "$infra_dir/eval.nix" deployList)
if [[ -n ${INVENTORY_FILE:-} ]]; then eval_args+=(--argstr inventoryFile "$(realpath "$INVENTORY_FILE")"); fi
deploy_list=$(nix "${eval_args[@]}")

selected=()
for h in "${hosts[@]}"; do
  if ! grep -q "^$h " <<<"$deploy_list"; then
    echo "deploy.sh: no host \"$h\" in the inventory (hosts: $(cut -d' ' -f1 <<<"$deploy_list" | tr '\n' ' '))" >&2
    exit 1
  fi
done
while read -r name host_role _system target; do
  [[ -z $name ]] && continue
  if [[ $select_all -eq 1 || $host_role == "$role" ]] || printf '%s\n' "${hosts[@]}" | grep -qx "$name"; then
    selected+=("$name $target")
  fi
done <<<"$deploy_list"
if [[ ${#selected[@]} -eq 0 ]]; then echo "deploy.sh: no host matches" >&2; exit 1; fi

if [[ $dry_run -eq 0 ]] && ! command -v nixos-rebuild >/dev/null; then
  echo "deploy.sh: nixos-rebuild not found (nix shell nixpkgs#nixos-rebuild)" >&2
  exit 1
fi

for entry in "${selected[@]}"; do
  name=${entry%% *}
  target=${entry#* }
  cmd=(nixos-rebuild "$action" --flake "$infra_dir#$name" --target-host "$target")
  if [[ $build_local -eq 0 ]]; then cmd+=(--build-host "$target"); fi
  cmd+=(--use-substitutes)
  if [[ $dry_run -eq 1 ]]; then
    printf '%q ' "${cmd[@]}" | sed 's/ $//'
    echo
  else
    echo "==> $name ($target)" >&2
    "${cmd[@]}"
  fi
done
