/**
 * The admin worker: purge, block and delete store paths over authenticated HTTP (docs/admin.md). It shares the
 * protocol core, the origin parser, the route table, the denylist model and the cache-key function with the cache
 * worker, so what it purges and blocks is exactly what the cache worker stores and checks.
 *
 * Every call: config → route (src/admin/routes.ts; 404/405 from the router) → authenticate (bearer token, or the
 * hook's shared secret) and scope → audit intent (mutating routes) → handler → audit completion → JSON answer
 * with `Cache-Control: no-store`. A cron trigger republishes the denylist if a publish failed (scheduled below).
 */
import { Router, type IRequest } from "itty-router";
import { ConfigError } from "../config";
import { log } from "../log";
import type { ActionContext, ActionOutcome, AuditPart } from "./action";
import { beginAudit, completeAudit } from "./audit";
import { adminConfigFor, type AdminConfig } from "./config";
import { republishIfBehind } from "./denylistStore";
import type { AdminEnv } from "./env";
import { adminErrorResponse, adminStatusOf, jsonResponse } from "./errors";
import { pruneHookEvents } from "./objectCreatedHook";
import { ROUTES, type AdminRoute } from "./routes";
import { servePage } from "./page/servePage";
import { authenticate, hookSecretMatches, type Scope } from "./tokens";
import { realSleep, type Sleep } from "./zonePurge";

interface Call {
  config: AdminConfig;
  ctx: ExecutionContext;
  sleep: Sleep;
}

function answer(outcome: ActionOutcome, auditWritten: boolean | undefined): Response {
  const extra = auditWritten === false ? { audit_written: false } : {};
  if (outcome.kind === "ok") return outcome.response ?? jsonResponse({ ...outcome.body, ...extra }, outcome.status);
  return adminErrorResponse(outcome.error, { ...outcome.body, ...extra });
}

const statusOf = (outcome: ActionOutcome): number =>
  outcome.kind === "ok" ? outcome.status : adminStatusOf(outcome.error);

/** Who is calling, or the refusal (401/403) as an outcome to audit and answer. */
async function identify(
  route: AdminRoute,
  request: IRequest,
  config: AdminConfig,
): Promise<{ actor: string; scopes: ReadonlySet<Scope>; refusal?: ActionOutcome }> {
  const none = new Set<Scope>();
  const where = { method: request.method, path: new URL(request.url).pathname };
  const ip = request.headers.get("cf-connecting-ip") ?? undefined;
  if (route.auth === "hook-secret") {
    if (await hookSecretMatches(request.headers.get("x-hook-secret"), config.hookSecret))
      return { actor: "hook", scopes: none };
    log("warn", "admin-hook-unauthorized", { configured: config.hookSecret !== undefined, ip });
    return {
      actor: "hook",
      scopes: none,
      refusal: {
        kind: "error",
        error: { kind: "unauthorized", detail: "hook secret" },
        audit: { request: where, result: "unauthorized", detail: { ip } },
      },
    };
  }
  const auth = await authenticate(request, config.tokens);
  if (!auth.ok) {
    log("warn", "admin-unauthorized", { reason: auth.reason, ...where, ip, tokensConfigured: config.tokens.length });
    return {
      actor: "anonymous",
      scopes: none,
      refusal: {
        kind: "error",
        error: { kind: "unauthorized", detail: auth.reason },
        audit: { request: where, result: "unauthorized", detail: { reason: auth.reason, ip } },
      },
    };
  }
  if (route.auth !== "any-token" && !auth.token.scopes.has(route.auth)) {
    return {
      actor: auth.token.id,
      scopes: auth.token.scopes,
      refusal: {
        kind: "error",
        error: { kind: "forbidden", scope: route.auth },
        audit: { request: where, result: "refused", detail: { missingScope: route.auth } },
      },
    };
  }
  return { actor: auth.token.id, scopes: auth.token.scopes };
}

/** A handler's outcome, or what its throw means: a 500 whose audit row says `failed`. */
async function run(route: AdminRoute, c: ActionContext, request: IRequest): Promise<ActionOutcome> {
  try {
    return await route.handler(c, request);
  } catch (e) {
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    log("error", "admin-internal", { route: `${route.method} ${route.path}`, actor: c.actor, detail });
    return {
      kind: "error",
      error: { kind: "internal", detail },
      audit: {
        request: { method: route.method, path: new URL(request.url).pathname },
        result: "failed",
        detail: { error: String(e) },
      },
    };
  }
}

function auditOf(outcome: ActionOutcome, request: IRequest): AuditPart {
  if (outcome.audit) return outcome.audit;
  const status = statusOf(outcome);
  return {
    request: { method: request.method, path: new URL(request.url).pathname },
    result: status < 400 ? "ok" : status < 500 ? "invalid" : "failed",
  };
}

function serve(route: AdminRoute) {
  return async (request: IRequest, call: Call): Promise<Response> => {
    const { config } = call;
    // Who it is changes nothing, so it comes before the row, which then names the caller even if it stays pending.
    const { actor, scopes, refusal } = await identify(route, request, config);
    let auditId: number | undefined;
    if (route.action) {
      // The intent first: no mutation without its row, whatever happens next (docs/admin.md, "The audit trail").
      try {
        auditId = await beginAudit(config.audit, actor, route.action, {
          method: request.method,
          path: new URL(request.url).pathname,
        });
      } catch (e) {
        log("error", "admin-audit-write-failed", { action: route.action, error: String(e) });
        return adminErrorResponse({ kind: "unavailable", detail: String(e) });
      }
    }
    const outcome =
      refusal ?? (await run(route, { config, actor, scopes, ctx: call.ctx, sleep: call.sleep, auditId }, request));
    let written: boolean | undefined;
    if (auditId !== undefined) {
      written = await completeAudit(config.audit, auditId, actor, {
        ...auditOf(outcome, request),
        status: statusOf(outcome),
      });
    }
    log(outcome.kind === "ok" ? "info" : "warn", "admin-call", {
      actor,
      route: `${route.method} ${route.path}`,
      status: statusOf(outcome),
      error: outcome.kind === "error" && outcome.error.kind !== "internal" ? outcome.error : undefined,
    });
    return answer(outcome, written);
  };
}

/** The one router: each route of the table, then a 405 naming the methods of a known path, then 404. */
const router = (() => {
  const r = Router<IRequest, [Call], Response>({
    finally: [(response: Response | undefined) => response ?? adminErrorResponse({ kind: "not-found" })],
  });
  for (const route of ROUTES) r[route.method.toLowerCase() as "get" | "post" | "delete"](route.path, serve(route));
  for (const path of new Set(ROUTES.map((x) => x.path))) {
    const allow = ROUTES.filter((x) => x.path === path)
      .map((x) => x.method)
      .join(", ");
    r.all(path, () => adminErrorResponse({ kind: "method-not-allowed", allow }));
  }
  return r;
})();

export async function handleAdmin(
  request: Request,
  env: AdminEnv,
  ctx: ExecutionContext,
  sleep: Sleep = realSleep,
): Promise<Response> {
  // The admin page (src/admin/page/): static files holding no data, served even when the config is broken.
  const page = request.method === "GET" || request.method === "HEAD" ? servePage(request) : undefined;
  if (page) return page;
  let config: AdminConfig;
  try {
    config = adminConfigFor(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      log("error", "admin-misconfigured", { detail: e.message });
      return adminErrorResponse({ kind: "misconfigured", detail: e.message });
    }
    throw e;
  }
  return router.fetch(request, { config, ctx, sleep });
}

/** The cron trigger: publish a denylist change that did not reach KV, and forget old hook sequencers. */
export async function scheduledAdmin(env: AdminEnv, sleep: Sleep = realSleep): Promise<void> {
  const config = adminConfigFor(env);
  const published = await republishIfBehind(config.audit, config.denylist, sleep);
  log(published.status === "failed" ? "error" : "info", "admin-denylist-cron", { ...published });
  await pruneHookEvents(config.audit);
}

export default {
  async fetch(request, env, ctx) {
    try {
      return await handleAdmin(request, env, ctx);
    } catch (e) {
      log("error", "admin-internal", { detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      return adminErrorResponse({ kind: "internal", detail: "unhandled" });
    }
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(scheduledAdmin(env));
  },
} satisfies ExportedHandler<AdminEnv>;
