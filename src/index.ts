/**
 * The cache worker: a Nix binary cache at the edge. Request flow (docs/request-flow.md): route → denylist → edge
 * cache → origin chain → verify → edge cache write and backfill, all on a streamed body.
 */
import { ConfigError, configFor, type CacheConfig } from "./config";
import { EdgeCache } from "./edge/edgeCache";
import type { Env } from "./env";
import { log } from "./log";
import { checkDenylist } from "./serve/denylist";
import { meterResponse } from "./metrics/meter";
import { newFacts, type RequestFacts } from "./metrics/facts";
import type { RequestContext } from "./serve/context";
import { serveFile } from "./serve/file";
import { serveHealth } from "./serve/health";
import { serveNarinfo } from "./serve/narinfo";
import { serveCacheInfo, serveLanding } from "./serve/static";
import { errorResponse, type CacheError } from "./routing/errors";
import { BadPath, parseRoute, type Route } from "./routing/routes";

function dispatch(rc: RequestContext, route: Route): Promise<Response> | Response {
  switch (route.kind) {
    case "landing":
      return serveLanding(rc);
    case "cache-info":
      return serveCacheInfo(rc);
    case "health":
      return serveHealth(rc);
    case "narinfo":
      return serveNarinfo(rc, route);
    case "nar":
    case "listing":
    case "log":
    case "realisation":
    case "build-trace":
    case "debuginfo":
      return serveFile(rc, route);
  }
}

function fail(request: Request, error: CacheError): Response {
  log(error.kind === "internal" || error.kind === "misconfigured" ? "error" : "info", "request-refused", {
    method: request.method,
    path: new URL(request.url).pathname,
    ...error,
  });
  return errorResponse(error, { "access-control-allow-origin": "*" });
}

export async function handleRequest(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  facts?: RequestFacts,
): Promise<Response> {
  const started = Date.now();
  const url = new URL(request.url);
  let route: Route | null;
  try {
    // The query is not part of the route or of any cache key; files forward it to upstream HTTP caches
    // (docs/request-flow.md, step 1).
    route = parseRoute(url.pathname);
  } catch (e) {
    if (e instanceof BadPath) {
      if (facts) facts.route = "invalid";
      return fail(request, { kind: "bad-request", detail: e.message });
    }
    throw e;
  }
  if (facts) facts.route = route?.kind ?? "unknown";
  if (request.method !== "GET" && request.method !== "HEAD") {
    return fail(request, { kind: "method-not-allowed", method: request.method });
  }
  if (route === null) return fail(request, { kind: "not-found", detail: "unknown path" });

  let config: CacheConfig;
  try {
    config = configFor(env);
  } catch (e) {
    if (e instanceof ConfigError) return fail(request, { kind: "misconfigured", detail: e.message });
    throw e;
  }
  const rc: RequestContext = {
    request,
    method: request.method,
    config,
    edge: new EdgeCache(caches.default, config.publicUrl ?? url.origin, ctx),
    ctx,
    started,
    query: url.search,
    // From the copy held in the isolate; started now, awaited beside the edge-cache lookup (lookupEdge).
    blocked: checkDenylist(config, route, ctx),
    facts,
  };
  return dispatch(rc, route);
}

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const facts = newFacts();
    let response: Response;
    try {
      response = await handleRequest(request, env, ctx, facts);
    } catch (e) {
      response = fail(request, { kind: "internal", detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
    // One data point per sampled request, written as the body ends; never delays or fails the answer.
    return meterResponse({ request, response, env, ctx, started, facts });
  },
} satisfies ExportedHandler<Env>;
