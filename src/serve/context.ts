/** What a handler needs to answer one request. */
import type { CacheConfig } from "../config";
import type { EdgeCache } from "../edge/edgeCache";
import type { Attempt } from "../origins/chain";
import { log } from "../log";
import type { RequestFacts } from "../metrics/facts";
import { errorResponse } from "../routing/errors";

export interface RequestContext {
  request: Request;
  method: "GET" | "HEAD";
  config: CacheConfig;
  edge: EdgeCache;
  ctx: ExecutionContext;
  started: number;
  /** Why the admin worker blocked this path, if it did (see denylist.ts). */
  blocked: Promise<string | undefined>;
  /** Which origin answered and how its object fared in the checks, for the request's data point (src/metrics/). */
  facts?: RequestFacts;
}

export type EdgeLookup = { kind: "blocked"; response: Response } | { kind: "hit"; cached: Response } | { kind: "miss" };

/**
 * The denylist and the edge cache, read at the same time. A block wins over a cached copy (410 Gone, which Nix
 * reads as absent), and a miss is only reported when the path is not blocked, so origins are never asked for it.
 */
export async function lookupEdge(rc: RequestContext, key: string, range?: string | null): Promise<EdgeLookup> {
  const [blocked, cached] = await Promise.all([rc.blocked, rc.edge.match(key, range)]);
  if (blocked !== undefined) {
    void cached?.body?.cancel();
    return { kind: "blocked", response: errorResponse({ kind: "blocked", detail: blocked }, baseHeaders(rc, "BYPASS")) };
  }
  return cached ? { kind: "hit", cached } : { kind: "miss" };
}

/** Server-Timing entries: time to each origin that was asked, so a slow miss shows where it went. */
export function serverTiming(started: number, attempts: readonly Attempt[] = []): string {
  const entries = attempts.map(
    (a, i) => `origin-${i};desc="${a.origin.replace(/["\\]/g, "")} ${a.outcome}";dur=${a.ms}`,
  );
  entries.push(`total;dur=${Date.now() - started}`);
  return entries.join(", ");
}

/** Headers on every answer: the CDN's CORS header, and what the edge did. */
export function baseHeaders(rc: RequestContext, cacheStatus: "HIT" | "MISS" | "BYPASS", attempts?: readonly Attempt[]): Headers {
  const headers = new Headers();
  headers.set("access-control-allow-origin", "*");
  headers.set("x-cache-status", cacheStatus);
  headers.set("server-timing", serverTiming(rc.started, attempts));
  return headers;
}

/** A cached response with the headers of this request's answer. */
export function fromEdge(rc: RequestContext, cached: Response): Response {
  const headers = new Headers(cached.headers);
  headers.set("x-cache-status", "HIT");
  headers.set("server-timing", serverTiming(rc.started));
  const body = rc.method === "HEAD" ? null : cached.body;
  if (rc.method === "HEAD") void cached.body?.cancel();
  return new Response(body, { status: cached.status, headers, encodeBody: "manual" });
}

/** No origin could answer: a retryable 502 (504 when one timed out), with each origin's outcome in the log. */
export function originsFailed(rc: RequestContext, key: string, attempts: readonly Attempt[], timeout: boolean): Response {
  const detail = attempts.map((a) => `${a.origin}: ${a.outcome} ${a.detail ?? ""}`.trim()).join("; ");
  log("error", "origins-failed", { key, detail });
  return errorResponse(
    timeout ? { kind: "origin-timeout", detail } : { kind: "origin-unavailable", detail },
    baseHeaders(rc, "MISS", attempts),
  );
}
