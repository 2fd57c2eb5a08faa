# Entry point for CI, infra/cloudflare/provision.mjs and infra/deploy.sh: evaluates the
# pure parts of infra/ with nothing but builtins.
#
#   nix-instantiate --eval --strict --json infra/eval.nix -A machinesFile
#   nix-instantiate --eval --strict --json infra/eval.nix -A cloudflare --argstr inventoryFile /abs/path/inventory.nix
{ inventoryFile ? null }:
import ./lib {
  inventory = import (if inventoryFile == null then ./inventory.nix else /. + inventoryFile);
}
