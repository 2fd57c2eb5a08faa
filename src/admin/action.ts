/** What every admin route handler returns: an answer and, for mutating routes, what goes into the audit log. */
import type { AuditEntry } from "./audit";
import type { AdminConfig } from "./config";
import type { AdminError } from "./errors";
import type { Sleep } from "./zonePurge";

export interface ActionContext {
  config: AdminConfig;
  /** Token id, or "hook". */
  actor: string;
  ctx: ExecutionContext;
  /** Overridable so tests of Retry-After do not have to wait. */
  sleep?: Sleep;
}

export type AuditPart = Pick<AuditEntry, "request" | "result" | "detail">;

export type ActionOutcome =
  | { kind: "ok"; status: number; body: Record<string, unknown>; audit?: AuditPart }
  | { kind: "error"; error: AdminError; body?: Record<string, unknown>; audit?: AuditPart };

export const invalid = (error: AdminError, request: unknown): ActionOutcome => ({
  kind: "error",
  error,
  audit: { request, result: "invalid", detail: { error: error.kind, message: "detail" in error ? error.detail : undefined } },
});
