/**
 * From a store path hash to every object the cache worker serves for it, named by the same object keys the cache
 * worker's route table produces (so `cacheKeyUrl` and `denylistKeys` give what the cache worker uses):
 * `<hash>.narinfo`, `<hash>.ls`, the narinfo's NAR, and `log/<deriver>` when the narinfo names a deriver.
 * The narinfo is read from the cache's own origins; it need not verify, since a forged narinfo must be purgeable too.
 */
import { log } from "../log";
import { FormatError } from "../narinfo/errors";
import type { Narinfo } from "../narinfo/narinfo";
import { formatStorePath, parseStorePathBaseName } from "../narinfo/storePath";
import { parseNarUrl } from "../nar/narUrl";
import { fetchFromOrigins, type Acceptor, type ChainLink } from "../origins/chain";
import { parseRoute, type Route } from "../routing/routes";
import type { Target } from "./targets";
import { readNarinfo } from "../origins/narinfoObject";

export type NarinfoLookup =
  | { kind: "found"; origin: string; narinfo: Narinfo }
  | { kind: "absent" }
  /** No origin had it and at least one could not answer: the NAR and log keys are unknown. */
  | { kind: "failed"; detail: string };

export interface ServedObjects {
  hash: string;
  storePath?: string;
  lookup: NarinfoLookup;
  /** Routes of the cache worker for this path, canonical keys included. */
  routes: Route[];
  /** Hash of the deriver, when known: blocking it hides the log (denylistKeys of a log route). */
  deriverHash?: string;
}


function parsedNarinfo(hash: string, storeDir: string): Acceptor<Narinfo> {
  // The cache worker's own reader: a narinfo it would decode and serve is one the admin finds.
  return (object) => readNarinfo(object, hash, storeDir);
}

export async function lookupNarinfo(chain: readonly ChainLink[], hash: string, storeDir: string): Promise<NarinfoLookup> {
  const result = await fetchFromOrigins(chain, `${hash}.narinfo`, { method: "GET" }, parsedNarinfo(hash, storeDir));
  switch (result.kind) {
    case "found":
      return { kind: "found", origin: result.origin.name, narinfo: result.value };
    case "absent":
      return { kind: "absent" };
    case "unsatisfiable":
    case "failed":
      return { kind: "failed", detail: result.attempts.map((a) => `${a.origin}: ${a.outcome}`).join("; ") };
  }
}

/** The cache worker's route for an object key, or undefined when it would not serve that key at all. */
function routeOf(key: string): Route | undefined {
  try {
    return parseRoute("/" + key) ?? undefined;
  } catch {
    return undefined;
  }
}

export function servedObjects(target: Pick<Target, "hash">, lookup: NarinfoLookup, storeDir: string): ServedObjects {
  const { hash } = target;
  const routes: Route[] = [
    { kind: "narinfo", hash, key: `${hash}.narinfo` },
    { kind: "listing", hash, key: `${hash}.ls` },
  ];
  let deriverHash: string | undefined;
  let storePath: string | undefined;
  if (lookup.kind === "found") {
    const { narinfo } = lookup;
    storePath = formatStorePath(narinfo.storePath, storeDir);
    try {
      // The key as the cache worker's route table spells it (percent-escapes decoded, query dropped).
      const nar = routeOf(parseNarUrl(narinfo.url).key);
      if (nar) routes.push(nar);
      else log("warn", "admin-nar-url-not-served", { hash, url: narinfo.url });
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      log("warn", "admin-nar-url-invalid", { hash, url: narinfo.url, detail: e.message });
    }
    if (narinfo.deriver && narinfo.deriver !== "unknown-deriver") {
      try {
        deriverHash = parseStorePathBaseName(narinfo.deriver).hash;
        const logRoute = routeOf(`log/${encodeURIComponent(narinfo.deriver)}`);
        if (logRoute) routes.push(logRoute);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    }
  }
  return { hash, storePath, lookup, routes, deriverHash };
}

export function objectKeys(objects: ServedObjects): string[] {
  return objects.routes.flatMap((r) => ("key" in r ? [r.key] : []));
}
