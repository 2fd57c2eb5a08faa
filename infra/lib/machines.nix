# Inventory -> Hydra's machines file (the format of nix.conf `builders` / /etc/nix/machines):
#
#   <store URI> <systems,> <ssh key> <maxJobs> <speedFactor> <features,> <mandatory,> <base64 host key>
#
# "-" stands for an empty field (Nix's parseBuilderLines treats "" and "-" alike).
# ssh:// (not ssh-ng://) because builders run `nix-store --serve --write` (modules/builder.nix),
# the legacy serve protocol that hydra-queue-runner speaks.
{ hosts, hostsOfRole, ... }:
let
  inherit (builtins) concatStringsSep;
  base64 = import ./base64.nix;

  # Where hydra-queue-runner's private key lives on the Hydra host (its home directory in
  # the NixOS hydra module is /var/lib/hydra/queue-runner). The public half is the hydra
  # host's `queueRunnerKey` in the inventory.
  sshKeyFile = "/var/lib/hydra/queue-runner/.ssh/id_ed25519";
  sshUser = "nix-ssh"; # created by nix.sshServe on the builders

  list = xs: if xs == [ ] then "-" else concatStringsSep "," xs;
  line = h: concatStringsSep " " [
    "ssh://${sshUser}@${h.fqdn}"
    (list h.systems)
    sshKeyFile
    (toString h.maxJobs)
    (toString h.speedFactor)
    (list h.supportedFeatures)
    (list h.mandatoryFeatures)
    (base64.encode h.hostKey)
  ];
in
{
  inherit sshKeyFile sshUser;
  # Builders in name order (attribute order), so the file is stable across evaluations.
  text = concatStringsSep "" (map (h: line h + "\n") (hostsOfRole "builder"));
}
