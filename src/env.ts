/**
 * The cache worker's bindings, declared once and exactly: every var in wrangler.toml (documented there and in
 * docs/configuration.md), the secrets in .dev.vars.example, the R2 and KV bindings. Bindings and secrets whose names
 * come from ORIGINS (an R2 `binding`, an S3 `credentials` prefix other than the `S3` declared here) are read with
 * `bindingNamed`, the one place that looks a name up.
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
  /** Hash-named NARs up to this many bytes are checked whole before sending; at most 16 MiB, default 8 MiB. */
  VERIFY_BEFORE_SEND_MAX_BYTES?: string | number;
  /** `1`: Server-Timing names each origin asked and its outcome; default: durations only. */
  SERVER_TIMING_ORIGINS?: string | number | boolean;
  STORE_DIR?: string;
  WANT_MASS_QUERY?: string | number | boolean;
  PRIORITY?: string | number;
  /** Public base URL of the cache (https://cache.example.org): the host of edge cache keys and purges. */
  PUBLIC_URL?: string;
  NAR_BUCKET?: R2Bucket;
  /** Blocked store paths: the document the admin worker publishes (docs/admin.md, "The block model"). */
  DENYLIST?: KVNamespace;
  /** Analytics Engine dataset for one data point per sampled request (src/metrics/, docs/observability.md). */
  METRICS?: AnalyticsEngineDataset;
  /** Share of requests that write a data point, 0..1 (default 1). */
  METRICS_SAMPLE_RATE?: string | number;
  /** Seconds an isolate keeps its copy of the denylist before re-reading it from KV (default 30). */
  DENYLIST_REFRESH_SECONDS?: string | number;
  /** Secrets of the S3 origins whose `credentials = "S3"` (the deployed configurations' prefix). */
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

/**
 * A binding or secret by a name taken from configuration (an origin's `binding`, `<credentials>_ACCESS_KEY_ID`);
 * undefined when the worker has none. Callers check the type of what they get.
 */
export function bindingNamed(env: object, name: string): unknown {
  return Object.hasOwn(env, name) ? Reflect.get(env, name) : undefined;
}
