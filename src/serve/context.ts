/** What a handler needs to answer one request. */
import type { CacheConfig } from "../config";
import type { EdgeCache } from "../edge/edgeCache";
import type { Attempt } from "../origins/chain";
import { log } from "../log";
import type { RequestFacts } from "../metrics/facts";
import { errorResponse } from "../routing/errors";
import type { BlockVerdict } from "./denylist";

export interface RequestContext {
  request: Request;
  method: "GET" | "HEAD";
  config: CacheConfig;
  edge: EdgeCache;
  ctx: ExecutionContext;
  started: number;
  /** The request's query string (`?…`, or empty): forwarded to upstream HTTP caches for files, never a cache key. */
  query: string;
  /** The denylist's verdict on this route, from the copy held in the isolate (see denylist.ts). */
  blocked: Promise<BlockVerdict>;
  /** Which origin answered and how its object fared in the checks, for the request's data point (src/metrics/). */
  facts?: RequestFacts;
}

type EdgeLookup = { kind: "blocked"; response: Response } | { kind: "hit"; cached: Response } | { kind: "miss" };

/**
 * The denylist and the edge cache, read at the same time. A block wins over a cached copy (410 Gone, which Nix
 * reads as absent), and a miss is only reported when the path is not blocked, so origins are never asked for it.
 */
export async function lookupEdge(rc: RequestContext, key: string, range?: string | null): Promise<EdgeLookup> {
  const [verdict, cached] = await Promise.all([rc.blocked, rc.edge.match(key, range)]);
  if (verdict.kind !== "allowed") {
    void cached?.body?.cancel();
    const error =
      verdict.kind === "blocked"
        ? { kind: "blocked" as const, detail: verdict.key }
        : { kind: "denylist-unavailable" as const };
    return { kind: "blocked", response: errorResponse(error, baseHeaders(rc, "BYPASS")) };
  }
  return cached ? { kind: "hit", cached } : { kind: "miss" };
}

/**
 * Server-Timing entries: time to each origin that was asked, so a slow miss shows where it went. Which origin it
 * was and how it answered (its URL or bucket, its health) only with SERVER_TIMING_ORIGINS: every client sees this.
 */
function serverTiming(started: number, attempts: readonly Attempt[] = [], detail = false): string {
  if (attempts.length === 0) return `total;dur=${Date.now() - started}`;
  const entries = attempts.map((a, i) =>
    detail
      ? `origin-${i};desc="${a.origin.replace(/["\\]/g, "")} ${a.outcome}";dur=${a.ms}`
      : `origin-${i};dur=${a.ms}`,
  );
  entries.push(`total;dur=${Date.now() - started}`);
  return entries.join(", ");
}

/** Headers on every answer: the CDN's CORS header, and what the edge did. */
export function baseHeaders(
  rc: RequestContext,
  cacheStatus: "HIT" | "MISS" | "BYPASS",
  attempts?: readonly Attempt[],
): Headers {
  const headers = new Headers();
  headers.set("access-control-allow-origin", "*");
  headers.set("x-cache-status", cacheStatus);
  headers.set("server-timing", serverTiming(rc.started, attempts, rc.config.serverTimingOrigins));
  return headers;
}

/** A cached response with the headers of this request's answer. */
export function fromEdge(rc: RequestContext, cached: Response): Response {
  const body = rc.method === "HEAD" ? null : cached.body;
  if (rc.method === "HEAD") void cached.body?.cancel();
  // The cached response's headers are immutable: the new response takes a copy, which is then changed in place (one
  // copy per hit, not two: bench/RESULTS.md, edge hit).
  const response = new Response(body, { status: cached.status, headers: cached.headers, encodeBody: "manual" });
  response.headers.set("x-cache-status", "HIT");
  response.headers.set("server-timing", serverTiming(rc.started));
  return response;
}

/** No origin could answer: a retryable 502 (504 when one timed out), with each origin's outcome in the log. */
export function originsFailed(
  rc: RequestContext,
  key: string,
  attempts: readonly Attempt[],
  timeout: boolean,
): Response {
  const detail = attempts.map((a) => `${a.origin}: ${a.outcome} ${a.detail ?? ""}`.trim()).join("; ");
  log("error", "origins-failed", { key, detail });
  return errorResponse(
    timeout ? { kind: "origin-timeout", detail } : { kind: "origin-unavailable", detail },
    baseHeaders(rc, "MISS", attempts),
  );
}
