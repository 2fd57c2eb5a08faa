# NixOS module for the monitoring host: probes the cache worker with the blackbox exporter, scrapes the admin
# worker's Prometheus window onto the Analytics Engine metrics, and loads the alert rules
# (docs/observability.md). Import it on the Prometheus server and set `nixEdgeCache.monitoring.*`.
{ config, lib, pkgs, ... }:
let
  cfg = config.nixEdgeCache.monitoring;
  blackboxPort = config.services.prometheus.exporters.blackbox.port;
  probeJob = name: module: targets: {
    job_name = name;
    metrics_path = "/probe";
    params.module = [ module ];
    scrape_interval = "30s";
    static_configs = [ { inherit targets; } ];
    # The usual blackbox relabelling: the target becomes a parameter, the exporter the address.
    relabel_configs = [
      { source_labels = [ "__address__" ]; target_label = "__param_target"; }
      { source_labels = [ "__param_target" ]; target_label = "instance"; }
      { target_label = "__address__"; replacement = "127.0.0.1:${toString blackboxPort}"; }
    ];
  };
  adminHost = lib.removePrefix "https://" cfg.adminUrl;
in
{
  options.nixEdgeCache.monitoring = {
    enable = lib.mkEnableOption "probes, metrics and alerts for the Nix cache's edge workers";
    cacheUrl = lib.mkOption {
      type = lib.types.strMatching "https://[^/]+";
      example = "https://cache.example-nix.org";
      description = "The cache worker's public base URL.";
    };
    adminUrl = lib.mkOption {
      type = lib.types.strMatching "https://[^/]+";
      example = "https://cache-admin.example-nix.org";
      description = "The admin worker's base URL (GET /v1/metrics/prometheus).";
    };
    adminTokenFile = lib.mkOption {
      type = lib.types.str;
      example = "/run/secrets/nix-cache-admin-read-token";
      description = "File holding an admin token with only the `read` scope (docs/admin.md, Tokens). "
        + "Never put the token in the Nix store.";
    };
    probeNarinfoHashes = lib.mkOption {
      type = lib.types.listOf (lib.types.strMatching "[0-9a-df-np-sv-z]{32}");
      default = [ ];
      description = "Store path hashes whose narinfos must always be served (for example a pinned stdenv): "
        + "probed end to end.";
    };
  };

  config = lib.mkIf cfg.enable {
    services.prometheus = {
      enable = true;
      exporters.blackbox = {
        enable = true;
        listenAddress = "127.0.0.1";
        configFile = pkgs.writeText "blackbox.json" (builtins.toJSON (import ./blackbox.nix));
      };
      scrapeConfigs = [
        (probeJob "nix-cache-edge-probe" "nix_cache_health" [ "${cfg.cacheUrl}/health" ])
        (probeJob "nix-cache-edge-cache-info" "nix_cache_info" [ "${cfg.cacheUrl}/nix-cache-info" ])
        {
          job_name = "nix-cache-edge-metrics";
          scheme = "https";
          metrics_path = "/v1/metrics/prometheus";
          # Each scrape is one Analytics Engine SQL query over the last 5 minutes: once a minute is plenty.
          scrape_interval = "1m";
          scrape_timeout = "30s";
          authorization.credentials_file = cfg.adminTokenFile;
          static_configs = [ { targets = [ adminHost ]; } ];
        }
      ] ++ lib.optional (cfg.probeNarinfoHashes != [ ])
        (probeJob "nix-cache-edge-narinfo" "nix_cache_narinfo"
          (map (h: "${cfg.cacheUrl}/${h}.narinfo") cfg.probeNarinfoHashes));
      ruleFiles = [ (pkgs.writeText "nix-cache-edge-rules.json" (builtins.toJSON (import ./alert-rules.nix))) ];
    };
  };
}
