# Every host: SSH, firewall, time, monitoring, Nix, automatic upgrades.
# `infra` is lib/default.nix applied to the inventory, `host` this host's normalised entry
# (both passed as specialArgs by flake.nix).
{ config, lib, pkgs, infra, host, ... }:
let
  inherit (infra) inventory;
in
{
  networking.hostName = host.name;
  networking.domain = infra.domain;
  system.stateVersion = host.stateVersion; # the release the host was installed with; never bumped

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
    (_: h: { hostNames = [ h.fqdn ] ++ lib.optional (h.ipv4 != null) h.ipv4 ++ lib.optional (h.ipv6 != null) h.ipv6; publicKey = h.hostKey; })
    (lib.filterAttrs (_: h: h.hostKey != null) infra.hosts);

  # --- firewall: deny by default; role modules open what they serve ---------------------
  networking.nftables.enable = true;
  networking.firewall = {
    enable = true;
    # The node exporter is reachable from the monitoring servers only, never the Internet.
    extraInputRules = lib.concatMapStringsSep "\n"
      (a: "${if lib.hasInfix ":" a then "ip6" else "ip"} saddr ${a} tcp dport ${toString config.services.prometheus.exporters.node.port} accept")
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
    # Only root and wheel talk to the daemon as trusted users; builders add nix-ssh.
    trusted-users = [ "root" ];
    # Hosts substitute from our own cache as well as cache.nixos.org.
    extra-substituters = [ "https://${inventory.cloudflare.environments.production.cacheHostname}.${infra.domain}" ];
    extra-trusted-public-keys = inventory.cache.publicKeys;
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
