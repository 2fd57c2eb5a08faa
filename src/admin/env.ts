/**
 * The admin worker's bindings, declared once. Every var is described in wrangler.admin.toml and docs/admin.md;
 * secrets are listed in .dev.vars.admin.example. Declared exactly; bindings and secrets named by ORIGINS are read
 * with `bindingNamed` (src/env.ts), as in the cache worker.
 */
export interface AdminEnv {
  /** The cache worker's ORIGINS: where narinfos are looked up and (R2, S3) objects deleted. */
  ORIGINS?: unknown;
  /** Space-separated `name:base64` keys; GET /v1/paths reports whether a narinfo verifies against them. */
  TRUSTED_PUBLIC_KEYS?: string;
  /** Required: the cache's public base URL. Purged URLs are cacheKeyUrl(PUBLIC_URL, key). */
  PUBLIC_URL?: string;
  /** Zone of PUBLIC_URL; empty disables the global purge (local development). */
  CLOUDFLARE_ZONE_ID?: string;
  /** Default https://api.cloudflare.com/client/v4. */
  CLOUDFLARE_API_BASE?: string;
  /** URLs per purge_cache call, default 30. */
  PURGE_BATCH_SIZE?: string | number;
  /** The cache worker's STORE_DIR (default /nix/store): the store directory narinfos of GET /v1/paths must use. */
  STORE_DIR?: string;
  /** Whether POST /v1/delete deletes from S3 origins too; default false. */
  ALLOW_S3_DELETE?: string | boolean;
  /** Secret: API token with the Cache Purge permission on the zone. */
  CLOUDFLARE_API_TOKEN?: string;
  /** Secret: JSON array of {id, sha256, scopes}; sha256 is the hex SHA-256 of the bearer token. */
  ADMIN_TOKENS?: string;
  /** Secret: shared secret the S3 upload hook presents in the X-Hook-Secret header. */
  HOOK_SECRET?: string;
  /** S3 buckets whose Object Created events the upload hook accepts (comma-separated); empty refuses all. */
  HOOK_BUCKETS?: string;
  /** Account of the cache worker's Analytics Engine dataset; empty: no metrics (docs/observability.md). */
  ANALYTICS_ACCOUNT_ID?: string;
  /** The cache worker's METRICS dataset name, default nix_cache_edge. */
  ANALYTICS_DATASET?: string;
  /** Base of the Analytics Engine SQL API (default https://api.cloudflare.com/client/v4). Tests point it at a fake. */
  ANALYTICS_SQL_API?: string;
  /** Secret: API token with Account Analytics: Read. */
  ANALYTICS_API_TOKEN?: string;
  NAR_BUCKET?: R2Bucket;
  DENYLIST?: KVNamespace;
  AUDIT?: D1Database;
  /** Secrets of the S3 origins whose `credentials = "S3"`; used by POST /v1/delete when ALLOW_S3_DELETE is true. */
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}
