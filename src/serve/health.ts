/**
 * GET /health: the answer a blackbox probe uses (infra/monitoring/, docs/observability.md). It touches no origin,
 * no KV and no cache: a 200 means the worker runs here and its configuration parses (a bad config answers 500
 * before reaching this). It also shows each origin's circuit breaker as this isolate sees it; origin names are
 * public already (Server-Timing names them on every miss).
 */
import { baseHeaders, type RequestContext } from "./context";

export function serveHealth(rc: RequestContext): Response {
  const body = JSON.stringify({
    status: "ok",
    origins: rc.config.chain.map((link) => ({ name: link.origin.name, breaker: link.breaker.state() })),
  });
  const headers = baseHeaders(rc, "BYPASS");
  headers.set("content-type", "application/json");
  headers.set("cache-control", "no-store");
  return new Response(rc.method === "HEAD" ? null : body + "\n", { status: 200, headers });
}
