# A build machine for Hydra: Hydra connects as nix-ssh, which can do nothing but
# `nix-store --serve --write` (the legacy serve protocol the machines file's ssh:// speaks).
{ config, lib, infra, host, ... }:
{
  # nix.sshServe creates the nix-ssh user and a `Match User nix-ssh` block forcing the serve
  # command, with no TTY or forwarding. `write` adds --write so Hydra can copy build inputs
  # in and ask for builds.
  nix.sshServe = {
    enable = true;
    write = true;
    protocol = "ssh";
    keys = infra.hydraKeys;
  };

  nix.settings = {
    # Importing unsigned inputs and building derivations sent over the wire are trusted
    # operations in the daemon; without this every build fails "you are not privileged".
    trusted-users = [ "nix-ssh" ];
    max-jobs = host.maxJobs;
    cores = host.cores;
    # Exactly what the inventory promises Hydra (machines file), so Hydra never schedules a
    # build here that the daemon would refuse. kvm/nixos-test need /dev/kvm on the host.
    system-features = host.supportedFeatures ++ host.mandatoryFeatures;
    extra-platforms = lib.drop 1 host.systems;
    sandbox = true;
    # Garbage collection (min-free/max-free, nix.gc) is common to every host: modules/common.nix.
  };
}
