/**
 * GET /v1/health (scope read): the deep check an admin reads in an incident. Each origin asked for
 * `nix-cache-info` (HEAD; "absent" still means reachable) with its latency, each breaker as this admin isolate
 * sees it, the cache worker's own /health (its breakers, in whichever isolate answered), the denylist's freshness
 * and a summary of the configuration without secrets. `status` is `degraded` when an origin or the cache worker
 * failed; the answer is 200 either way, the details say what.
 */
import type { ActionContext, ActionOutcome } from "./action";
import type { AdminConfig } from "./config";
import { denylistStatus } from "./denylistStatus";

const CACHE_HEALTH_TIMEOUT_MS = 5_000;

async function probeOrigins(config: AdminConfig) {
  return Promise.all(
    config.chain.map(async (link) => {
      const started = Date.now();
      const answer = await link.origin.fetch("nix-cache-info", { method: "HEAD" });
      return {
        name: link.origin.name,
        type: link.origin.type,
        reachable: answer.kind !== "failed",
        answer: answer.kind,
        ms: Date.now() - started,
        ...(answer.kind === "failed" ? { detail: answer.reason } : {}),
        breaker: link.breaker.state(),
      };
    }),
  );
}

async function cacheWorkerHealth(config: AdminConfig) {
  const url = `${config.publicUrl}/health`;
  const started = Date.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(CACHE_HEALTH_TIMEOUT_MS) });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { url, ok: response.status === 200, status: response.status, ms: Date.now() - started, body };
  } catch (e) {
    return { url, ok: false, status: null, ms: Date.now() - started, error: String(e) };
  }
}

function configSummary(config: AdminConfig) {
  return {
    publicUrl: config.publicUrl,
    storeDir: config.storeDir,
    trustedKeys: config.trustedKeys.map((k) => k.name),
    origins: config.chain.map((l) => ({
      name: l.origin.name,
      type: l.origin.type,
      backfill: l.backfill !== undefined,
    })),
    zonePurge: config.zone ? { zoneId: config.zone.zoneId, batchSize: config.zone.batchSize } : "not-configured",
    allowS3Delete: config.allowS3Delete,
    tokens: config.tokens.map((t) => ({ id: t.id, scopes: [...t.scopes] })),
    hookSecret: config.hookSecret ? "set" : "not-set",
    analytics: config.analytics
      ? { dataset: config.analytics.dataset, api: config.analytics.apiBase }
      : "not-configured",
  };
}

export async function adminHealth(c: ActionContext): Promise<ActionOutcome> {
  const [origins, cache, denylist] = await Promise.all([
    probeOrigins(c.config),
    cacheWorkerHealth(c.config),
    denylistStatus(c.config),
  ]);
  const healthy = cache.ok && origins.every((o) => o.reachable);
  return {
    kind: "ok",
    status: 200,
    body: {
      status: healthy ? "ok" : "degraded",
      checkedAt: new Date().toISOString(),
      origins,
      cache,
      denylist,
      config: configSummary(c.config),
    },
  };
}
