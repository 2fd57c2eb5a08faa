/**
 * How fresh the denylist the cache worker checks is, for GET /v1/health. Today the denylist is KV keys read per
 * request with a 60 s edge cacheTtl (src/serve/denylist.ts): a block is seen everywhere within KV's propagation
 * plus that minute. This function is the one place that knows it; a denylist kept as one document in each
 * isolate replaces its body with the document's version and age.
 */
import type { AdminConfig } from "./config";

// src/serve/denylist.ts DENYLIST_CACHE_TTL.
const CACHE_WORKER_CACHE_TTL_SECONDS = 60;
const COUNT_LIMIT = 1000;

export interface DenylistStatus {
  source: "kv";
  /** `path:` keys, counted up to `COUNT_LIMIT`: blocked store paths and the derivations whose logs they hide. */
  pathKeys: number;
  countTruncated: boolean;
  /** Longest a change takes to reach a cache worker, besides KV's own propagation. */
  maxStalenessSeconds: number;
  /** The newest block or unblock in the audit log, if any: what the cache should already reflect. */
  lastChange: { action: string; at: string; by: string } | null;
}

export async function denylistStatus(config: AdminConfig): Promise<DenylistStatus> {
  const listed = await config.denylist.list({ prefix: "path:", limit: COUNT_LIMIT });
  const last = await config.audit
    .prepare("SELECT action, at, actor FROM audit WHERE action IN ('block', 'unblock') AND result IN ('ok', 'partial') ORDER BY id DESC LIMIT 1")
    .first<{ action: string; at: string; actor: string }>();
  return {
    source: "kv",
    pathKeys: listed.keys.length,
    countTruncated: !listed.list_complete,
    maxStalenessSeconds: CACHE_WORKER_CACHE_TTL_SECONDS,
    lastChange: last ? { action: last.action, at: last.at, by: last.actor } : null,
  };
}
