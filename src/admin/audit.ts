/**
 * The audit log (D1): one row per call to a mutating route, whoever made it (docs/admin.md, "The audit trail").
 * The row is inserted as `pending` before anything is done — the intent — and completed with what was asked,
 * what happened and the status when the call ends, so a call that fails, throws or is cancelled still has its row.
 */
import { log } from "../log";

export type AuditResult = "pending" | "ok" | "partial" | "dry-run" | "failed" | "refused" | "unauthorized" | "invalid";
export const AUDIT_ACTIONS = ["purge", "block", "unblock", "delete", "hook"] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

interface AuditCompletion {
  request: unknown;
  result: Exclude<AuditResult, "pending">;
  status: number;
  detail?: unknown;
}

interface AuditRecord {
  id: number;
  at: string;
  completed_at: string | null;
  actor: string;
  action: AuditAction;
  request: unknown;
  result: AuditResult;
  status: number;
  detail: unknown;
}

/** The intent: throws when it cannot be written, and then the call must change nothing. */
export async function beginAudit(
  db: D1Database,
  actor: string,
  action: AuditAction,
  request: unknown,
): Promise<number> {
  const row = await db
    .prepare(
      "INSERT INTO audit (at, actor, action, request, result, status) VALUES (?, ?, ?, ?, 'pending', 0) RETURNING id",
    )
    .bind(new Date().toISOString(), actor, action, JSON.stringify(request ?? null))
    .first<{ id: number }>();
  if (!row) throw new Error("audit insert returned no id");
  return row.id;
}

/** Never throws: the call has happened; a failed completion leaves the row `pending`, logged loudly. */
export async function completeAudit(
  db: D1Database,
  id: number,
  actor: string,
  done: AuditCompletion,
): Promise<boolean> {
  try {
    await db
      .prepare(
        "UPDATE audit SET actor = ?, request = ?, result = ?, status = ?, detail = ?, completed_at = ? WHERE id = ?",
      )
      .bind(
        actor,
        JSON.stringify(done.request ?? null),
        done.result,
        done.status,
        done.detail === undefined ? null : JSON.stringify(done.detail),
        new Date().toISOString(),
        id,
      )
      .run();
    return true;
  } catch (e) {
    log("error", "admin-audit-write-failed", { id, actor, result: done.result, error: String(e) });
    return false;
  }
}

interface AuditQuery {
  limit: number;
  before?: number;
  action?: string;
  actor?: string;
}

export const MAX_AUDIT_PAGE = 500;

interface AuditRow extends Omit<AuditRecord, "request" | "detail"> {
  request: string;
  detail: string | null;
}

/** Newest first; page with `before` = the smallest id of the previous page. */
export async function listAudit(db: D1Database, q: AuditQuery): Promise<AuditRecord[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.before !== undefined) {
    where.push("id < ?");
    args.push(q.before);
  }
  if (q.action !== undefined) {
    where.push("action = ?");
    args.push(q.action);
  }
  if (q.actor !== undefined) {
    where.push("actor = ?");
    args.push(q.actor);
  }
  const sql = `SELECT id, at, completed_at, actor, action, request, result, status, detail FROM audit${
    where.length ? ` WHERE ${where.join(" AND ")}` : ""
  } ORDER BY id DESC LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...args, q.limit)
    .all<AuditRow>();
  return results.map((r) => ({
    ...r,
    request: JSON.parse(r.request) as unknown,
    detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown),
  }));
}
