/**
 * The cache worker's bindings, declared once. Every var is documented in wrangler.toml and docs/configuration.md.
 * S3 credentials arrive as secrets named after each origin's `credentials` prefix, hence the index signature.
 */
export interface Env {
  /** Ordered origins: an array (TOML array of tables) or the same as a JSON string. */
  ORIGINS?: unknown;
  /** Space-separated `name:base64` keys, as nix.conf's trusted-public-keys. */
  TRUSTED_PUBLIC_KEYS?: string;
  /** Secret, optional: a Nix secret key whose signature is added to every narinfo served. */
  SIGNING_KEY?: string;
  NARINFO_TTL?: string | number;
  NEGATIVE_TTL?: string | number;
  NAR_TTL?: string | number;
  /** Largest object kept in the edge cache, in bytes; at most (and by default) the Cache API's 512 MiB. */
  EDGE_CACHE_MAX_BYTES?: string | number;
  STORE_DIR?: string;
  WANT_MASS_QUERY?: string | number | boolean;
  PRIORITY?: string | number;
  /** Public base URL of the cache (https://cache.example.org): the host of edge cache keys and purges. */
  PUBLIC_URL?: string;
  NAR_BUCKET?: R2Bucket;
  /** Blocked store paths, written by the admin worker. */
  DENYLIST?: KVNamespace;
  /** Analytics Engine dataset for one data point per sampled request (src/metrics/, docs/observability.md). */
  METRICS?: AnalyticsEngineDataset;
  /** Share of requests that write a data point, 0..1 (default 1). */
  METRICS_SAMPLE_RATE?: string | number;
  [binding: string]: unknown;
}
