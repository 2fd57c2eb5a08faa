/**
 * The admin API's one route table (docs/admin.md, "The API"): method, path, who may call it, and the audit action
 * of mutating routes. src/admin/index.ts turns it into the itty-router, including the 405s.
 */
import type { IRequest } from "itty-router";
import { invalid, type ActionContext, type ActionOutcome } from "./action";
import type { AuditAction } from "./audit";
import { auditList } from "./auditList";
import { blockPaths } from "./blockPaths";
import { adminHealth } from "./health";
import { metricsSeries } from "./metrics/metricsSeries";
import { prometheusMetrics } from "./metrics/prometheusMetrics";
import { deletePaths } from "./deletePaths";
import { objectCreatedHook } from "./objectCreatedHook";
import { pathStatus } from "./pathStatus";
import { purgePaths } from "./purgePaths";
import { readJson, readJsonObject } from "./requestBody";
import type { Scope } from "./tokens";
import { unblockPath } from "./unblockPath";
import { whoami } from "./whoami";

type Handler = (c: ActionContext, request: IRequest) => Promise<ActionOutcome>;

export interface AdminRoute {
  method: "GET" | "POST" | "DELETE";
  path: string;
  /** A bearer token with this scope, any known token, or the upload hook's shared secret. */
  auth: Scope | "any-token" | "hook-secret";
  /** Mutating routes: every call leaves one audit row. */
  action?: AuditAction;
  handler: Handler;
}

/** POST routes take a JSON object body. */
function withBody(fn: (c: ActionContext, body: Record<string, unknown>) => Promise<ActionOutcome>): Handler {
  return async (c, request) => {
    const body = await readJsonObject(request);
    return body.ok ? fn(c, body.value) : invalid(body.error, null);
  };
}

function pathParam(request: IRequest): string {
  const raw = request.params.path ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export const ROUTES: readonly AdminRoute[] = [
  { method: "POST", path: "/v1/purge", auth: "purge", action: "purge", handler: withBody(purgePaths) },
  { method: "POST", path: "/v1/block", auth: "block", action: "block", handler: withBody(blockPaths) },
  {
    method: "DELETE",
    path: "/v1/block/:path",
    auth: "block",
    action: "unblock",
    handler: (c, r) => unblockPath(c, pathParam(r)),
  },
  { method: "POST", path: "/v1/delete", auth: "delete", action: "delete", handler: withBody(deletePaths) },
  {
    method: "POST",
    path: "/v1/hooks/object-created",
    auth: "hook-secret",
    action: "hook",
    handler: async (c, r) => {
      const body = await readJson(r);
      if (!body.ok)
        return {
          kind: "error",
          error: body.error,
          audit: { request: null, result: "refused", detail: { error: body.error.kind } },
        };
      return objectCreatedHook(c, body.value);
    },
  },
  { method: "GET", path: "/v1/paths/:path", auth: "read", handler: (c, r) => pathStatus(c, pathParam(r)) },
  { method: "GET", path: "/v1/audit", auth: "read", handler: auditList },
  // Observability (docs/observability.md): read-only, never audited.
  { method: "GET", path: "/v1/whoami", auth: "any-token", handler: whoami },
  { method: "GET", path: "/v1/health", auth: "read", handler: adminHealth },
  { method: "GET", path: "/v1/metrics", auth: "read", handler: (c, r) => metricsSeries(c, new URL(r.url)) },
  {
    method: "GET",
    path: "/v1/metrics/prometheus",
    auth: "read",
    handler: async (c) => ({ kind: "ok", status: 200, body: {}, response: await prometheusMetrics(c.config) }),
  },
];
