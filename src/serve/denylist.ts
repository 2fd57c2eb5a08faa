/**
 * The denylist the admin worker writes (KV, replicated to every edge). A blocked path answers 410 Gone, which
 * every Nix version reads as "absent" (NIX-PROTOCOL.md), before the edge cache or any origin is consulted.
 * Keys are shared with the admin worker through `denylistKeys`.
 */
import type { CacheConfig } from "../config";
import type { Route } from "../routing/routes";

/** KV keys that, when present, block a route: its store path hash, or for NARs the object key itself. */
export function denylistKeys(route: Route): string[] {
  switch (route.kind) {
    case "narinfo":
    case "listing":
      return [`path:${route.hash}`];
    case "nar":
      return [`object:${route.key}`];
    case "log":
    case "build-trace":
      // Keyed by the derivation's hash; the admin worker blocks the deriver of a path too.
      return [`path:${route.hash}`];
    case "realisation":
    case "debuginfo":
      return [`object:${route.key}`];
    case "landing":
    case "cache-info":
    case "health":
      return [];
  }
}

// Blocks take effect within this many seconds at every edge (KV's edge cache); the admin worker also purges.
const DENYLIST_CACHE_TTL = 60;

/** The reason a route is blocked, or undefined. */
export async function isBlocked(config: CacheConfig, route: Route): Promise<string | undefined> {
  const kv = config.denylist;
  if (!kv) return undefined;
  for (const key of denylistKeys(route)) {
    const value = await kv.get(key, { cacheTtl: DENYLIST_CACHE_TTL });
    if (value !== null) return `blocked (${key})`;
  }
  return undefined;
}
