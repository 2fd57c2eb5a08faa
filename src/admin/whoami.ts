/**
 * GET /v1/whoami: the calling token's id and scopes, for any known token. The admin page asks it once after
 * login to decide which buttons to show; the API still checks every call's scope itself.
 */
import { log } from "../log";
import type { AdminConfig } from "./config";
import { adminErrorResponse, jsonResponse } from "./errors";
import { authenticate, SCOPES, type AdminToken, type Scope } from "./tokens";

/** A known token (with `scope`, when given), or the 401/403 answer. */
export async function bearer(
  request: Request,
  config: AdminConfig,
  scope?: Scope,
): Promise<{ ok: true; token: AdminToken } | { ok: false; response: Response }> {
  const auth = await authenticate(request, config.tokens);
  if (!auth.ok) {
    log("warn", "admin-unauthorized", { reason: auth.reason, method: request.method, path: new URL(request.url).pathname });
    return { ok: false, response: adminErrorResponse({ kind: "unauthorized", detail: auth.reason }) };
  }
  if (scope && !auth.token.scopes.has(scope)) return { ok: false, response: adminErrorResponse({ kind: "forbidden", scope }) };
  return { ok: true, token: auth.token };
}

export async function whoami(request: Request, config: AdminConfig): Promise<Response> {
  const auth = await bearer(request, config);
  if (!auth.ok) return auth.response;
  return jsonResponse({ id: auth.token.id, scopes: SCOPES.filter((s) => auth.token.scopes.has(s)) });
}
