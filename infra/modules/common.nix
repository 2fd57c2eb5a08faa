# Every host: SSH, firewall, time, monitoring, Nix (with garbage collection), secrets,
# automatic upgrades. `infra` is lib/default.nix applied to the inventory, `host` this host's
# normalised entry (both passed as specialArgs by flake.nix).
{ config, lib, pkgs, infra, host, ... }:
let
  inherit (infra) inventory;
  gib = n: n * 1024 * 1024 * 1024;
in
{
  networking.hostName = host.name;
  networking.domain = infra.domain;
  # The release the host was installed with; required in the inventory, never bumped.
  system.stateVersion = host.stateVersion;

  # --- SSH: keys only; root only with a key, because deploys are `--target-host root@…` ---
  services.openssh = {
    enable = true;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      PermitRootLogin = "prohibit-password";
      X11Forwarding = false;
    };
  };
  users.mutableUsers = false; # accounts come from this configuration, nothing else
  users.users.root.openssh.authorizedKeys.keys = infra.adminKeys;
  # Every host knows every other host's key, so host-to-host SSH (Hydra -> builders,
  # admins jumping through hosts) never trusts on first use.
  programs.ssh.knownHosts = lib.mapAttrs
    (_: h: {
      hostNames = [ h.fqdn ] ++ lib.optional (h.ipv4 != null) h.ipv4 ++ lib.optional (h.ipv6 != null) h.ipv6;
      publicKey = h.hostKey;
    })
    (lib.filterAttrs (_: h: h.hostKey != null) infra.hosts);

  # --- secrets: this host's entries of secrets.nix, decrypted by agenix at activation with
  # the host's SSH key, to tmpfs or the declared path, with the declared owner and mode. The
  # store holds only the encrypted files.
  age.secrets = lib.mapAttrs
    (_: s: { file = ../secrets + "/${s.file}"; inherit (s) path owner group mode; })
    infra.secretsFor.${host.name};

  # --- firewall: deny by default; role modules open what they serve ---------------------
  networking.nftables.enable = true;
  networking.firewall = {
    enable = true;
    # The node exporter is reachable from the monitoring servers only, never the Internet.
    extraInputRules = lib.concatMapStringsSep "\n"
      (a: "${if lib.hasInfix ":" a then "ip6" else "ip"} saddr ${a} "
        + "tcp dport ${toString config.services.prometheus.exporters.node.port} accept")
      (inventory.monitoring.scrapers or [ ]);
  };

  # --- time: logs, TLS and Hydra's build timestamps need a correct clock ----------------
  time.timeZone = "UTC";
  services.timesyncd.enable = true;

  # --- monitoring --------------------------------------------------------------------
  services.prometheus.exporters.node = {
    enable = true;
    port = 9100;
    openFirewall = false; # opened above for the scrapers only
    enabledCollectors = [ "systemd" ];
  };

  # --- Nix -----------------------------------------------------------------------------
  nix.settings = {
    experimental-features = [ "nix-command" "flakes" ];
    # Only root talks to the daemon as a trusted user; builders add nix-ssh.
    trusted-users = [ "root" ];
    # Hosts substitute from our own cache as well as cache.nixos.org.
    extra-substituters = [ "https://${inventory.cloudflare.environments.production.cacheHostname}.${infra.domain}" ];
    extra-trusted-public-keys = inventory.cache.publicKeys;
    # Keep free space on every host (as NixOS/infra does): when a build or download finds
    # less than min-free free, the daemon collects garbage until max-free is free. Without it
    # Hydra's disk fills and hydra-check-space stops the queue.
    min-free = gib host.gc.minFreeGiB;
    max-free = gib host.gc.maxFreeGiB;
  };
  # A daily sweep on top, so a quiet host does not sit on a full disk until the next build.
  nix.gc = {
    automatic = true;
    dates = "daily";
    options = "--delete-older-than ${host.gc.deleteOlderThan}";
  };

  # --- security updates ------------------------------------------------------------------
  # Hosts follow the flake at its main branch, where flake.lock is bumped by a reviewed
  # commit (see README). Upgrading from the repository rather than from a channel means a
  # host never runs a configuration that is not in git. Builders reboot for kernel updates
  # in the night window; Hydra and mail only switch, and are rebooted by hand after a
  # kernel update (a reboot mid-evaluation or mid-delivery is worse than a late kernel).
  system.autoUpgrade = {
    enable = true;
    flake = inventory.deploy.flake;
    dates = "04:00";
    randomizedDelaySec = "45min";
    allowReboot = host.role == "builder";
    rebootWindow = { lower = "01:00"; upper = "05:00"; };
  };
}
