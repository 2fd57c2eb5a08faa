# The Hydra host: Hydra and its PostgreSQL, nginx with TLS in front, builds dispatched to
# the builders in the inventory, outputs signed and uploaded to the cache's R2 bucket.
{ config, lib, pkgs, infra, host, ... }:
let
  # store_uri, the secret file paths it names, hydra.conf: all from lib/hydra.nix.
  inherit (infra) hydra;
in
{
  services.hydra = {
    enable = true;
    hydraURL = "https://${host.fqdn}";
    listenHost = "localhost"; # only nginx talks to it
    port = 3000;
    # Required by the module; e-mail notifications stay off (hydra.conf email_notification
    # defaults to 0), so nothing is sent as this address.
    notificationSender = "hydra@${infra.domain}";
    # false, as NixOS's Hydra has it: with substitutes Hydra would download a path from
    # another cache and then sign and upload it as if it had built it.
    useSubstitutes = false;
    # Builders come from the inventory only; the default /etc/nix/machines is not used.
    buildMachinesFiles = [ (pkgs.writeText "hydra-machines" infra.machinesFile) ];
    # Hydra stops queueing builds / evaluations rather than fill its own disk (GiB).
    minimumDiskFree = 50;
    minimumDiskFreeEvaluator = 20;
    extraConfig = hydra.config;
  };

  # The hydra module creates the database on this PostgreSQL. Pin the major version: the
  # default follows system.stateVersion, and a major upgrade needs a dump/restore that
  # must be done deliberately, not by a flake.lock bump.
  services.postgresql.package = pkgs.postgresql_16;

  # Flakes evaluated by Hydra may fetch from these only (restricted evaluation).
  nix.settings.allowed-uris = [ "github:" "https://github.com/" "git+https://github.com/" ];

  # R2 credentials for the upload (AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=…): the
  # r2-credentials secret (secrets.nix: root, 0400), read by systemd before it drops
  # privileges. The signing key (`secret-key=` in store_uri) and the queue runner's SSH key to
  # the builders are secrets too, decrypted by agenix with the queue runner as owner.
  systemd.services.hydra-queue-runner.serviceConfig.EnvironmentFile = hydra.credentialsFile;
  systemd.tmpfiles.rules = [
    "d /var/cache/hydra 0755 hydra hydra - -"
    # hydra-server runs as hydra-www (group hydra) and fills this cache of NARs it read
    # through the public cache (server_store_uri's local-nar-cache); entries expire after a day.
    "d ${hydra.narCache} 0775 hydra hydra 1d -"
  ];

  services.nginx = {
    enable = true;
    recommendedProxySettings = true;
    recommendedTlsSettings = true;
    recommendedGzipSettings = true;
    virtualHosts.${host.fqdn} = {
      enableACME = true;
      forceSSL = true;
      locations."/".proxyPass = "http://localhost:${toString config.services.hydra.port}";
    };
  };
  security.acme = {
    acceptTerms = true;
    defaults.email = "postmaster@${infra.domain}";
  };
  networking.firewall.allowedTCPPorts = [ 80 443 ]; # 80: ACME HTTP-01 and the HTTPS redirect
}
