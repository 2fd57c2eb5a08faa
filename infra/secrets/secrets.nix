# Rules for the agenix CLI (`cd infra/secrets && agenix -e <name>.age`, `agenix --rekey`):
# who each file is encrypted for. Derived from ../secrets.nix and the inventory's host and admin
# keys by lib/secrets.nix, so the mapping is written once.
(import ../lib { inventory = import ../inventory.nix; }).agenixRules
