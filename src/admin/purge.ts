/**
 * Purging a set of store paths: every URL the cache serves for them leaves this data centre's Cache API
 * (`caches.default`, shared with the cache worker because both run on the cache's zone) and every data centre
 * through the zone purge API. URLs come from `cacheKeyUrl`, the function the cache worker stores under.
 */
import { cacheKeyUrl } from "../routing/cacheKey";
import type { AdminConfig } from "./config";
import { lookupNarinfo, objectKeys, servedObjects, type ServedObjects } from "./servedObjects";
import type { Target } from "./targets";
import { purgeZone, type Sleep, type ZonePurgeOutcome } from "./zonePurge";

interface PathReport {
  input: string;
  /** A store path's hash; absent for objects. */
  hash?: string;
  /** An object's key (realisation, build trace, debuginfo); absent for store paths. */
  object?: string;
  storePath?: string;
  narinfo: "found" | "absent" | "lookup-failed" | "not-a-path";
  origin?: string;
  keys: string[];
  urls: string[];
}

interface UrlPurgeOutcome {
  urls: string[];
  /** URLs that were in this data centre's Cache API and are gone from it. */
  localDeleted: string[];
  zone: ZonePurgeOutcome | { status: "dry-run" };
}

export function reportOf(target: Target, objects: ServedObjects, publicUrl: string): PathReport {
  const keys = objectKeys(objects);
  const { lookup } = objects;
  return {
    input: target.input,
    hash: target.kind === "path" ? target.hash : undefined,
    object: target.kind === "object" ? target.route.key : undefined,
    storePath: objects.storePath,
    narinfo:
      lookup === undefined
        ? "not-a-path"
        : lookup.kind === "found"
          ? "found"
          : lookup.kind === "absent"
            ? "absent"
            : "lookup-failed",
    origin: lookup?.kind === "found" ? lookup.origin : undefined,
    keys,
    urls: keys.map((k) => cacheKeyUrl(publicUrl, k)),
  };
}

export async function resolveTargets(config: AdminConfig, targets: readonly Target[]): Promise<ServedObjects[]> {
  // One at a time: the origins are the cache's own, and an admin call must not become a burst against them.
  const out: ServedObjects[] = [];
  for (const target of targets) {
    const lookup = target.kind === "path" ? await lookupNarinfo(config.chain, target.hash, config.storeDir) : undefined;
    out.push(servedObjects(target, lookup, config.storeDir));
  }
  return out;
}

export async function purgeUrls(
  config: AdminConfig,
  urls: readonly string[],
  options: { dryRun?: boolean; sleep?: Sleep; cache?: Cache } = {},
): Promise<UrlPurgeOutcome> {
  const unique = [...new Set(urls)];
  if (options.dryRun) return { urls: unique, localDeleted: [], zone: { status: "dry-run" } };
  const cache = options.cache ?? caches.default;
  const localDeleted: string[] = [];
  for (const url of unique) {
    if (await cache.delete(url)) localDeleted.push(url);
  }
  return { urls: unique, localDeleted, zone: await purgeZone(config.zone, unique, options.sleep) };
}

export function purgeFailed(outcome: UrlPurgeOutcome): boolean {
  return outcome.zone.status === "failed";
}
