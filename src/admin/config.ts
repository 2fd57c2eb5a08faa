/**
 * The admin worker's vars and secrets as a typed configuration, parsed once per isolate and env. ORIGINS goes
 * through the cache worker's own parser, so the admin looks narinfos up exactly where the cache finds them.
 */
import { cachedPerEnv, ConfigError, parseBool, parseOrigins, parseTrustedKeysVar } from "../config";
import type { PublicKey } from "../narinfo/keys";
import type { ChainLink } from "../origins/chain";
import type { AdminEnv } from "./env";
import { parseAnalyticsConfig, type AnalyticsConfig } from "./metrics/analyticsSql";
import { parseAdminTokens, type AdminToken } from "./tokens";

export const DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4";
/** Accepted by every plan's purge_cache `files` limit; see PURGE_BATCH_SIZE in wrangler.admin.toml. */
export const DEFAULT_PURGE_BATCH_SIZE = 30;

export interface ZonePurgeConfig {
  zoneId: string;
  apiBase: string;
  apiToken: string;
  batchSize: number;
}

export interface AdminConfig {
  chain: ChainLink[];
  trustedKeys: PublicKey[];
  storeDir: string;
  publicUrl: string;
  /** Undefined when CLOUDFLARE_ZONE_ID is empty: no global purge. */
  zone?: ZonePurgeConfig;
  allowS3Delete: boolean;
  tokens: AdminToken[];
  hookSecret?: string;
  /** Buckets whose S3 events the upload hook accepts; empty: the hook refuses every event. */
  hookBuckets: string[];
  denylist: KVNamespace;
  audit: D1Database;
  /** Where the cache worker's metrics are read (docs/observability.md); undefined when not configured. */
  analytics?: AnalyticsConfig;
}

export function parseAdminConfig(env: AdminEnv): AdminConfig {
  if (!env.PUBLIC_URL || !/^https?:\/\/[^/]+\/?$/.test(env.PUBLIC_URL)) {
    throw new ConfigError("PUBLIC_URL must be the cache's base URL, e.g. https://cache.example.org");
  }
  if (!env.DENYLIST) throw new ConfigError("no KV binding DENYLIST");
  if (!env.AUDIT) throw new ConfigError("no D1 binding AUDIT");
  const trustedKeys = parseTrustedKeysVar(env.TRUSTED_PUBLIC_KEYS);
  let zone: ZonePurgeConfig | undefined;
  if (env.CLOUDFLARE_ZONE_ID) {
    if (!/^[0-9a-f]{32}$/.test(env.CLOUDFLARE_ZONE_ID)) throw new ConfigError("CLOUDFLARE_ZONE_ID is not a zone id");
    if (!env.CLOUDFLARE_API_TOKEN)
      throw new ConfigError("CLOUDFLARE_ZONE_ID is set but the CLOUDFLARE_API_TOKEN secret is not");
    const apiBase = (env.CLOUDFLARE_API_BASE || DEFAULT_API_BASE).replace(/\/+$/, "");
    if (!/^https?:\/\//.test(apiBase)) throw new ConfigError("CLOUDFLARE_API_BASE must be http(s)");
    const batch =
      env.PURGE_BATCH_SIZE === undefined || env.PURGE_BATCH_SIZE === ""
        ? DEFAULT_PURGE_BATCH_SIZE
        : Number(env.PURGE_BATCH_SIZE);
    if (!Number.isInteger(batch) || batch < 1 || batch > 500) throw new ConfigError("PURGE_BATCH_SIZE must be 1..500");
    zone = { zoneId: env.CLOUDFLARE_ZONE_ID, apiBase, apiToken: env.CLOUDFLARE_API_TOKEN, batchSize: batch };
  }
  const chain = parseOrigins(env.ORIGINS, env);
  return {
    chain,
    trustedKeys,
    storeDir: env.STORE_DIR || "/nix/store",
    publicUrl: env.PUBLIC_URL.replace(/\/+$/, ""),
    zone,
    allowS3Delete: parseBool(env.ALLOW_S3_DELETE, "ALLOW_S3_DELETE", false),
    tokens: parseAdminTokens(env.ADMIN_TOKENS),
    hookSecret: env.HOOK_SECRET || undefined,
    hookBuckets: parseHookBuckets(env.HOOK_BUCKETS),
    denylist: env.DENYLIST,
    audit: env.AUDIT,
    analytics: parseAnalyticsConfig(env),
  };
}

/** S3 bucket names (3-63 of [a-z0-9.-]), separated by commas or spaces. */
function parseHookBuckets(value: string | undefined): string[] {
  const names = (value ?? "").split(/[\s,]+/).filter(Boolean);
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
      throw new ConfigError(`HOOK_BUCKETS: "${name}" is not an S3 bucket name`);
  }
  return names;
}

/** Parsed config for this env, cached per isolate (the origins' circuit breakers live in it). */
export const adminConfigFor = cachedPerEnv(parseAdminConfig);
