/**
 * GET /v1/paths/<hash>: where a path is. Blocked or not (and why), which origins hold its narinfo and NAR,
 * whether this data centre's edge cache holds its objects (other data centres cannot be asked), and whether the
 * cache worker would serve the narinfo (signed by a key of TRUSTED_PUBLIC_KEYS, or content-addressed: the same
 * function decides both, src/narinfo/trust.ts).
 */
import { trustNarinfo } from "../narinfo/trust";
import { cacheKeyUrl } from "../routing/cacheKey";
import type { ActionContext, ActionOutcome } from "./action";
import { blocksImplying, getBlock } from "./denylistStore";
import { impliedKeys, lookupNarinfo, servedObjects } from "./servedObjects";
import { parseTargets, subjectOf } from "./targets";

export async function pathStatus(
  c: ActionContext,
  param: string,
  cache: Cache = caches.default,
): Promise<ActionOutcome> {
  const parsed = parseTargets([param], c.config.storeDir);
  if (!parsed.ok) return { kind: "error", error: { kind: "bad-request", detail: parsed.detail } };
  const target = parsed.targets[0]!;
  const { config } = c;

  const subject = subjectOf(target);
  const row = await getBlock(config.audit, subject);
  const blocked = row && { reason: row.reason, by: row.actor, at: row.at, keys: row.keys };

  const lookup = target.kind === "path" ? await lookupNarinfo(config.chain, target.hash, config.storeDir) : undefined;
  const served = servedObjects(target, lookup, config.storeDir);
  // Every block (explicit or not) that hides one of this path's objects, e.g. an output's block hiding a .drv's log.
  const hiddenBy = (await blocksImplying(config.audit, impliedKeys(served))).map((b) => ({
    key: b.key,
    by: b.subject,
  }));
  let signature: unknown = null;
  let narinfo: unknown = null;
  if (lookup?.kind === "found") {
    const n = lookup.narinfo;
    const trust = await trustNarinfo(n, config.trustedKeys, config.storeDir);
    signature = !trust.valid
      ? { valid: false, reason: trust.reason }
      : "contentAddressed" in trust
        ? { valid: true, contentAddressed: true }
        : { valid: true, key: trust.keyName };
    narinfo = {
      origin: lookup.origin,
      url: n.url,
      compression: n.compression,
      narSize: n.narSize,
      deriver: n.deriver,
      sigs: n.sigs,
    };
  }

  const origins = [];
  for (const link of config.chain) {
    const where: Record<string, string> = {};
    for (const route of served.routes) {
      if (route.kind !== "narinfo" && route.kind !== "nar") continue;
      const answer = await link.origin.fetch(route.key, { method: "HEAD" });
      where[route.kind] = answer.kind === "found" ? "present" : answer.kind === "absent" ? "absent" : "error";
    }
    origins.push({ name: link.origin.name, type: link.origin.type, ...where });
  }

  const edge: Record<string, string> = {};
  for (const route of served.routes) {
    if (!("key" in route)) continue;
    const hit = await cache.match(cacheKeyUrl(config.publicUrl, route.key));
    await hit?.body?.cancel();
    edge[route.key] = hit === undefined ? "not-cached" : hit.status === 200 ? "cached" : `cached-${hit.status}`;
  }

  return {
    kind: "ok",
    status: 200,
    body: {
      subject,
      hash: target.kind === "path" ? target.hash : undefined,
      storePath: served.storePath ?? null,
      blocked,
      hiddenBy,
      narinfo: lookup === undefined ? "not-a-path" : lookup.kind === "found" ? narinfo : lookup.kind,
      signature,
      origins,
      edge: { scope: "this data centre only", objects: edge },
    },
  };
}
