# Blackbox exporter modules for probing the cache worker (docs/observability.md, "Probes"). Plain data, turned
# into the exporter's config file by cache-monitoring.nix (JSON is YAML).
{
  modules = {
    # GET /health: the worker runs and its config parses; no origin, KV or cache is touched.
    nix_cache_health = {
      prober = "http";
      timeout = "10s";
      http = {
        valid_status_codes = [ 200 ];
        fail_if_body_not_matches_regexp = [ ''"status":"ok"'' ];
        no_follow_redirects = true;
      };
    };
    # GET /nix-cache-info: what every Nix client asks first.
    nix_cache_info = {
      prober = "http";
      timeout = "10s";
      http = {
        valid_status_codes = [ 200 ];
        fail_if_body_not_matches_regexp = [ "StoreDir: /nix/store" ];
        no_follow_redirects = true;
      };
    };
    # GET <hash>.narinfo of a path that must always be there: the whole read path, origins included on a miss.
    nix_cache_narinfo = {
      prober = "http";
      timeout = "15s";
      http = {
        valid_status_codes = [ 200 ];
        fail_if_body_not_matches_regexp = [ "^StorePath: /nix/store/" ];
        no_follow_redirects = true;
      };
    };
  };
}
