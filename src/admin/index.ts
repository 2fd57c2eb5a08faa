/**
 * The admin worker: purge, block and delete store paths over authenticated HTTP (docs/admin.md). It shares the
 * protocol core, the origin parser, the route table, the denylist keys and the cache-key function with the cache
 * worker, so what it purges and blocks is exactly what the cache worker stores and checks.
 *
 * Every call: config → route → authenticate (bearer token, or the hook's shared secret) → scope → handler →
 * audit (mutating calls) → JSON answer with `Cache-Control: no-store`.
 */
import { IttyRouter, type IRequest } from "itty-router";
import { ConfigError } from "../config";
import { log } from "../log";
import type { ActionContext, ActionOutcome } from "./action";
import { listAudit, MAX_AUDIT_PAGE, writeAudit, type AuditEntry } from "./audit";
import { blockPaths, unblockPath } from "./blockPaths";
import { adminConfigFor, type AdminConfig } from "./config";
import { deletePaths } from "./deletePaths";
import { adminHealth } from "./health";
import { servePage } from "./page/servePage";
import { metricsSeries } from "./metrics/metricsSeries";
import { prometheusMetrics } from "./metrics/prometheusMetrics";
import { bearer, whoami } from "./whoami";
import type { AdminEnv } from "./env";
import { adminErrorResponse, adminStatusOf, jsonResponse, type AdminError } from "./errors";
import { objectCreatedHook } from "./objectCreatedHook";
import { pathStatus } from "./pathStatus";
import { purgePaths } from "./purgePaths";
import { readJsonObject, MAX_BODY_BYTES } from "./requestBody";
import { authenticate, hookSecretMatches, type Scope } from "./tokens";
import type { Sleep } from "./zonePurge";

interface Call {
  config: AdminConfig;
  ctx: ExecutionContext;
  sleep?: Sleep;
}

type Handler = (c: ActionContext, request: IRequest) => Promise<ActionOutcome>;

function answer(outcome: ActionOutcome, audited: boolean | undefined): Response {
  const extra = audited === false ? { audit_written: false } : {};
  if (outcome.kind === "ok") return jsonResponse({ ...outcome.body, ...extra }, outcome.status);
  return adminErrorResponse(outcome.error, { ...outcome.body, ...extra });
}

function statusOfOutcome(outcome: ActionOutcome): number {
  return outcome.kind === "ok" ? outcome.status : adminStatusOf(outcome.error);
}

async function audited(call: Call, actor: string, action: AuditEntry["action"] | undefined, outcome: ActionOutcome): Promise<Response> {
  let written: boolean | undefined;
  if (action && outcome.audit) {
    written = await writeAudit(call.config.audit, { actor, action, status: statusOfOutcome(outcome), ...outcome.audit });
  }
  log(outcome.kind === "ok" ? "info" : "warn", "admin-call", {
    actor,
    action,
    status: statusOfOutcome(outcome),
    error: outcome.kind === "error" ? outcome.error : undefined,
  });
  return answer(outcome, written);
}

/** A route behind a bearer token with `scope`; `action` names mutating routes, which are audited. */
function withToken(scope: Scope, action: AuditEntry["action"] | undefined, handler: Handler) {
  return async (request: IRequest, call: Call): Promise<Response> => {
    const auth = await authenticate(request as unknown as Request, call.config.tokens);
    if (!auth.ok) {
      // Logged, not audited: an unauthenticated caller must not be able to write rows.
      log("warn", "admin-unauthorized", {
        reason: auth.reason,
        method: request.method,
        path: new URL(request.url).pathname,
        ip: request.headers.get("cf-connecting-ip") ?? undefined,
        tokensConfigured: call.config.tokens.length,
      });
      return adminErrorResponse({ kind: "unauthorized", detail: auth.reason });
    }
    const actor = auth.token.id;
    if (!auth.token.scopes.has(scope)) {
      const error: AdminError = { kind: "forbidden", scope };
      return audited(call, actor, action, {
        kind: "error",
        error,
        audit: { request: { method: request.method, path: new URL(request.url).pathname }, result: "refused", detail: { missingScope: scope } },
      });
    }
    const outcome = await handler({ config: call.config, actor, ctx: call.ctx, sleep: call.sleep }, request);
    return audited(call, actor, action, outcome);
  };
}

/** POST routes take a JSON object body. */
function withBody(fn: (c: ActionContext, body: Record<string, unknown>) => Promise<ActionOutcome>): Handler {
  return async (c, request) => {
    const body = await readJsonObject(request as unknown as Request);
    if (!body.ok) return { kind: "error", error: body.error, audit: { request: null, result: "invalid", detail: { error: body.error.kind } } };
    return fn(c, body.value);
  };
}

function pathParam(request: IRequest): string {
  try {
    return decodeURIComponent(request.params.path ?? "");
  } catch {
    return request.params.path ?? "";
  }
}

async function auditList(c: ActionContext, request: IRequest): Promise<ActionOutcome> {
  const url = new URL(request.url);
  const bad = (detail: string): ActionOutcome => ({ kind: "error", error: { kind: "bad-request", detail } });
  const limitText = url.searchParams.get("limit") ?? "50";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_AUDIT_PAGE) return bad(`limit must be 1..${MAX_AUDIT_PAGE}`);
  const beforeText = url.searchParams.get("before");
  if (beforeText !== null && !/^\d+$/.test(beforeText)) return bad("before must be a record id");
  const action = url.searchParams.get("action") ?? undefined;
  if (action !== undefined && !["purge", "block", "unblock", "delete", "hook"].includes(action)) {
    return bad("action must be one of purge, block, unblock, delete, hook");
  }
  const actor = url.searchParams.get("actor") ?? undefined;
  const records = await listAudit(c.config.audit, { limit, before: beforeText === null ? undefined : Number(beforeText), action, actor });
  const last = records[records.length - 1];
  return { kind: "ok", status: 200, body: { records, next: records.length === limit && last ? `?before=${last.id}&limit=${limit}` : null } };
}

async function hook(request: IRequest, call: Call): Promise<Response> {
  if (!(await hookSecretMatches(request.headers.get("x-hook-secret"), call.config.hookSecret))) {
    log("warn", "admin-hook-unauthorized", { configured: call.config.hookSecret !== undefined, ip: request.headers.get("cf-connecting-ip") ?? undefined });
    return adminErrorResponse({ kind: "unauthorized", detail: "hook secret" });
  }
  const c: ActionContext = { config: call.config, actor: "hook", ctx: call.ctx, sleep: call.sleep };
  const raw = await (request as unknown as Request).text();
  if (raw.length > MAX_BODY_BYTES) return audited(call, "hook", "hook", { kind: "error", error: { kind: "payload-too-large", limit: MAX_BODY_BYTES } });
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return audited(call, "hook", "hook", {
      kind: "error",
      error: { kind: "bad-request", detail: "body is not valid JSON" },
      audit: { request: null, result: "invalid" },
    });
  }
  return audited(call, "hook", "hook", await objectCreatedHook(c, body));
}

const ROUTES: [method: string, path: string][] = [
  ["POST", "/v1/purge"],
  ["POST", "/v1/block"],
  ["DELETE", "/v1/block/:path"],
  ["POST", "/v1/delete"],
  ["POST", "/v1/hooks/object-created"],
  ["GET", "/v1/paths/:path"],
  ["GET", "/v1/audit"],
  ["GET", "/v1/whoami"],
  ["GET", "/v1/health"],
  ["GET", "/v1/metrics"],
  ["GET", "/v1/metrics/prometheus"],
  ["GET", "/"],
  ["GET", "/page/app.js"],
  ["GET", "/page/app.css"],
];

export const router = IttyRouter<IRequest, [Call]>()
  .post("/v1/purge", withToken("purge", "purge", withBody(purgePaths)))
  .post("/v1/block", withToken("block", "block", withBody(blockPaths)))
  .delete("/v1/block/:path", withToken("block", "unblock", (c, r) => unblockPath(c, pathParam(r))))
  .post("/v1/delete", withToken("delete", "delete", withBody(deletePaths)))
  .post("/v1/hooks/object-created", hook)
  .get("/v1/paths/:path", withToken("read", undefined, (c, r) => pathStatus(c, pathParam(r))))
  .get("/v1/audit", withToken("read", undefined, auditList))
  // Observability (docs/observability.md): read-only, never audited.
  .get("/v1/whoami", (request, call) => whoami(request as unknown as Request, call.config))
  .get("/v1/health", withToken("read", undefined, (c) => adminHealth(c)))
  .get("/v1/metrics", withToken("read", undefined, (c, r) => metricsSeries(c, new URL(r.url))))
  .get("/v1/metrics/prometheus", async (request, call) => {
    const auth = await bearer(request as unknown as Request, call.config, "read");
    return auth.ok ? prometheusMetrics(call.config) : auth.response;
  })
  // The admin page (src/admin/page/): static files, no data.
  .get("*", (request) => servePage(request as unknown as Request));

function unrouted(request: Request): Response {
  const path = new URL(request.url).pathname;
  const allowed = ROUTES.filter(([, pattern]) => new RegExp(`^${pattern.replace(/:path$/, "[^/]+")}$`).test(path)).map(([m]) => m);
  if (allowed.length > 0) return adminErrorResponse({ kind: "method-not-allowed", allow: allowed.join(", ") });
  return adminErrorResponse({ kind: "not-found" });
}

export async function handleAdmin(request: Request, env: AdminEnv, ctx: ExecutionContext, sleep?: Sleep): Promise<Response> {
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
  const response = (await router.fetch(request, { config, ctx, sleep })) as Response | undefined;
  return response ?? unrouted(request);
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
} satisfies ExportedHandler<AdminEnv>;
