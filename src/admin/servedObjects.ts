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
import { denylistKeys, logKey, objectKey, pathKey } from "../serve/denylist";
import type { Target } from "./targets";
import { readNarinfo } from "../origins/narinfoObject";

type NarinfoLookup =
  | { kind: "found"; origin: string; narinfo: Narinfo }
  | { kind: "absent" }
  /** No origin had it and at least one could not answer: the NAR and log keys are unknown. */
  | { kind: "failed"; detail: string };

export interface ServedObjects {
  target: Target;
  storePath?: string;
  /** Undefined for objects (realisations, build traces, debuginfo): they have no narinfo. */
  lookup?: NarinfoLookup;
  /** Routes of the cache worker for this path, canonical keys included. */
  routes: Route[];
  /** Hash of the deriver, when known: blocking it hides the log (denylistKeys of a log route). */
  deriverHash?: string;
}

function parsedNarinfo(hash: string, storeDir: string): Acceptor<Narinfo> {
  // The cache worker's own reader: a narinfo it would decode and serve is one the admin finds.
  return (object) => readNarinfo(object, hash, storeDir);
}

export async function lookupNarinfo(
  chain: readonly ChainLink[],
  hash: string,
  storeDir: string,
): Promise<NarinfoLookup> {
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

export function servedObjects(target: Target, lookup: NarinfoLookup | undefined, storeDir: string): ServedObjects {
  if (target.kind === "object") return { target, routes: [target.route] };
  const { hash } = target;
  const routes: Route[] = [
    { kind: "narinfo", hash, key: `${hash}.narinfo` },
    { kind: "listing", hash, key: `${hash}.ls` },
  ];
  let deriverHash: string | undefined;
  let storePath: string | undefined;
  if (lookup?.kind === "found") {
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
    // A derivation's own build log is served under its own name.
    const ownName = `${narinfo.storePath.hash}-${narinfo.storePath.name}`;
    if (ownName.endsWith(".drv")) {
      const own = routeOf(`log/${encodeURIComponent(ownName)}`);
      if (own) routes.push(own);
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
  return { target, storePath, lookup, routes, deriverHash };
}

export function objectKeys(objects: ServedObjects): string[] {
  return objects.routes.flatMap((r) => ("key" in r ? [r.key] : []));
}

/**
 * The denylist keys an explicit block of this target implies (docs/admin.md, "The block model"): a store path
 * hides its narinfo, .ls, NAR and logs (its own when it is a .drv, its deriver's); an object only itself.
 */
export function impliedKeys(objects: ServedObjects): string[] {
  const { target } = objects;
  if (target.kind === "object") return [objectKey(target.route.key)];
  // A path's own log exists only for a .drv; when the narinfo could not be read, it may be one.
  const mayBeDrv = objects.lookup?.kind !== "found" || objects.lookup.narinfo.storePath.name.endsWith(".drv");
  return [
    ...new Set([
      pathKey(target.hash),
      ...(mayBeDrv ? [logKey(target.hash)] : []),
      ...objects.routes.flatMap(denylistKeys),
    ]),
  ];
}

/** What could not be named because the narinfo lookup failed: still served after a block, purge or delete. */
export function unresolved(objects: ServedObjects): string | undefined {
  if (objects.target.kind !== "path" || objects.lookup?.kind !== "failed") return undefined;
  return (
    `${objects.target.hash}: an origin failed (${objects.lookup.detail}), ` +
    "so its NAR and log could not be named; they are still served"
  );
}
