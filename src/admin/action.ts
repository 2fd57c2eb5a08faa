/** What every admin route handler returns: an answer and, for mutating routes, how its audit row is completed. */
import type { AuditResult } from "./audit";
import type { AdminConfig } from "./config";
import type { AdminError } from "./errors";
import type { Scope } from "./tokens";
import type { Sleep } from "./zonePurge";

export interface ActionContext {
  config: AdminConfig;
  /** Token id, or "hook". */
  actor: string;
  /** The calling token's scopes (none for the hook). */
  scopes: ReadonlySet<Scope>;
  ctx: ExecutionContext;
  /** Overridable so tests of Retry-After do not have to wait. */
  sleep: Sleep;
  /** The audit row written before the handler ran (mutating routes only). */
  auditId?: number;
}

export interface AuditPart {
  request: unknown;
  result: Exclude<AuditResult, "pending">;
  detail?: unknown;
}

export type ActionOutcome =
  /** `response`: an answer that is not JSON (the Prometheus exposition), sent as it is. */
  | { kind: "ok"; status: number; body: Record<string, unknown>; audit?: AuditPart; response?: Response }
  | { kind: "error"; error: AdminError; body?: Record<string, unknown>; audit?: AuditPart };

export const invalid = (error: AdminError, request: unknown): ActionOutcome => ({
  kind: "error",
  error,
  audit: {
    request,
    result: "invalid",
    detail: { error: error.kind, message: "detail" in error ? error.detail : undefined },
  },
});

/**
 * The end of a mutating call (docs/admin.md, "Partial results"): `ok` only when everything was done; otherwise
 * `partial` with one line per thing not done, answered 502 so that no caller mistakes it for success.
 */
export function completed(
  body: Record<string, unknown>,
  incomplete: readonly string[],
  request: unknown,
  detail: Record<string, unknown>,
  dryRun = false,
): ActionOutcome {
  if (dryRun) {
    return {
      kind: "ok",
      status: 200,
      body: { ...body, result: "dry-run", incomplete },
      audit: { request, result: "dry-run", detail },
    };
  }
  if (incomplete.length > 0) {
    return {
      kind: "error",
      error: { kind: "upstream-failed", detail: incomplete.join("; ") },
      body: { ...body, result: "partial", incomplete },
      audit: { request, result: "partial", detail: { ...detail, incomplete } },
    };
  }
  return {
    kind: "ok",
    status: 200,
    body: { ...body, result: "ok", incomplete: [] },
    audit: { request, result: "ok", detail },
  };
}
