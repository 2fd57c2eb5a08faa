/**
 * Every failure the admin API answers with, as a value. `adminErrorResponse` maps each kind to a status in one
 * exhaustive switch. The wire gets `{"error": {"kind", "message"}}`: the reason for a 4xx (what is wrong with the
 * input), only the status phrase for a 5xx; details go to the log. Nothing secret ever goes in either.
 */
import { assertNever } from "../routing/errors";

export type AdminError =
  | { kind: "bad-request"; detail: string }
  | { kind: "unauthorized"; detail: string }
  | { kind: "forbidden"; scope: string }
  | { kind: "not-found"; detail?: string }
  | { kind: "method-not-allowed"; allow: string }
  | { kind: "payload-too-large"; limit: number }
  | { kind: "misconfigured"; detail: string }
  | { kind: "upstream-failed"; detail: string }
  /** The audit intent could not be written, so nothing was done (docs/admin.md, "The audit trail"). */
  | { kind: "unavailable"; detail: string }
  | { kind: "internal"; detail: string };

export function adminStatusOf(error: AdminError): number {
  switch (error.kind) {
    case "bad-request":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "not-found":
      return 404;
    case "method-not-allowed":
      return 405;
    case "payload-too-large":
      return 413;
    case "misconfigured":
    case "internal":
      return 500;
    case "upstream-failed":
      // The Cloudflare API or an origin failed: the caller may retry the whole (idempotent) call.
      return 502;
    case "unavailable":
      return 503;
    default:
      return assertNever(error);
  }
}

/** What the caller may read: enough to fix a 4xx, nothing about the server for a 5xx. */
function publicMessage(error: AdminError): string {
  switch (error.kind) {
    case "bad-request":
      return error.detail;
    case "unauthorized":
      return "missing or unknown bearer token";
    case "forbidden":
      return `token lacks the "${error.scope}" scope`;
    case "not-found":
      return error.detail ?? "no such route";
    case "method-not-allowed":
      return `method not allowed (allowed: ${error.allow})`;
    case "payload-too-large":
      return `body larger than ${error.limit} bytes`;
    case "misconfigured":
      return "admin worker misconfigured";
    case "upstream-failed":
      return "upstream failed";
    case "unavailable":
      return "audit log unavailable; nothing was done";
    case "internal":
      return "internal error";
    default:
      return assertNever(error);
  }
}

const NO_STORE = "no-store";

export function jsonResponse(body: unknown, status = 200, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", NO_STORE);
  return new Response(JSON.stringify(body, null, 2) + "\n", { status, headers });
}

export function adminErrorResponse(error: AdminError, extra?: Record<string, unknown>): Response {
  const status = adminStatusOf(error);
  const headers = new Headers();
  if (error.kind === "unauthorized") headers.set("www-authenticate", 'Bearer realm="nix-cache-admin"');
  if (error.kind === "method-not-allowed") headers.set("allow", error.allow);
  return jsonResponse({ error: { kind: error.kind, message: publicMessage(error) }, ...extra }, status, headers);
}
