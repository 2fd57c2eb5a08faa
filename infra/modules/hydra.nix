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
    useSubstitutes = true;
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

  # R2 credentials for the upload (AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=…): a file on
  # the host, owned by root, mode 0400, read by systemd. Never in this repository or the store.
  systemd.services.hydra-queue-runner.serviceConfig.EnvironmentFile = hydra.credentialsFile;
  # The signing key (`secret-key=` in store_uri) must be readable by the queue runner.
  systemd.tmpfiles.rules = [
    "z ${hydra.signingKeyFile} 0400 hydra-queue-runner hydra -"
    "d /var/cache/hydra 0755 hydra hydra -"
  ];
  # The queue runner's SSH key to the builders (machines file column 3) is generated once
  # on the host; its public half is the inventory's queueRunnerKey.

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
