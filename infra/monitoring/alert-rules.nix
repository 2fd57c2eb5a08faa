# Prometheus alert rules for the cache worker (docs/observability.md, "Alerts"). Plain data, no nixpkgs, so
# infra/test/monitoring.test.ts can check every expression against what the admin worker exports.
#
# Data sources: `probe_*` from the blackbox exporter (blackbox.nix), and `nix_cache_edge_*` from the admin worker's
# GET /v1/metrics/prometheus, a window onto the cache worker's Analytics Engine points. Those gauges count the
# last 5 minutes at each scrape (nix_cache_edge_window_seconds), so ratios are plain divisions, no rate().
let
  runbook = anchor: "docs/runbook.md#${anchor}";
in
{
  groups = [
    {
      name = "nix-cache-edge";
      rules = [
        {
          alert = "NixCacheEdgeDown";
          # /health touches no origin: a failure here is the worker, its config, DNS or TLS, not an origin.
          expr = ''probe_success{job="nix-cache-edge-probe"} == 0'';
          for = "3m";
          labels.severity = "page";
          annotations = {
            summary = "{{ $labels.instance }} fails its probe";
            runbook = runbook "the-cache-does-not-answer";
          };
        }
        {
          alert = "NixCacheEdge5xxRatio";
          expr = ''sum(nix_cache_edge_requests{status_class="5xx"}) / sum(nix_cache_edge_requests) > 0.01'';
          for = "10m";
          labels.severity = "page";
          annotations = {
            summary = "More than 1 % of the cache's answers are 5xx";
            runbook = runbook "clients-see-5xx";
          };
        }
        {
          alert = "NixCacheEdgeOriginFailureRatio";
          # A miss that no origin could answer is a 502/504 with origin "none" (src/metrics/dataPoint.ts).
          expr = ''sum(nix_cache_edge_requests{cache_status="MISS",origin="none",status_class="5xx"}) ''
            + ''/ sum(nix_cache_edge_requests{cache_status="MISS"}) > 0.05'';
          for = "10m";
          labels.severity = "page";
          annotations = {
            summary = "More than 5 % of edge misses found no working origin";
            runbook = runbook "clients-see-5xx";
          };
        }
        {
          alert = "NixCacheEdgeSignatureFailures";
          # Any: a narinfo that is forged, unsigned by a trusted key, or for another path is never expected.
          expr = ''sum by (origin, verification) ''
            + ''(nix_cache_edge_verification_failures{verification=~"forged|unsigned|wrong-path"}) > 0'';
          labels.severity = "page";
          annotations = {
            summary = "{{ $labels.origin }} holds narinfos that fail verification ({{ $labels.verification }})";
            runbook = runbook "signature-failures";
          };
        }
        {
          alert = "NixCacheEdgeCorruptNar";
          expr = ''sum by (origin) (nix_cache_edge_verification_failures{verification="corrupt-nar"}) > 0'';
          labels.severity = "ticket";
          annotations = {
            summary = "{{ $labels.origin }} served NAR bytes that do not match their hash";
            runbook = runbook "corrupt-nars";
          };
        }
        {
          alert = "NixCacheEdgeMetricsMissing";
          # Without this, every alert above goes silent when the SQL API or the admin worker fails.
          expr = ''nix_cache_edge_metrics_up == 0 or up{job="nix-cache-edge-metrics"} == 0'';
          for = "15m";
          labels.severity = "ticket";
          annotations = {
            summary = "The cache's metrics cannot be read; its alerts are blind";
            runbook = runbook "metrics-missing";
          };
        }
      ];
    }
  ];
}
