/**
 * The audit log (D1): who (a token id, never a token), what, when, and the result of every mutating call,
 * including refused ones from a known token. Unauthenticated calls are only logged: writing a row for them would
 * let anyone fill the database.
 */
import { log } from "../log";

export type AuditResult = "ok" | "partial" | "failed" | "refused" | "invalid";

export interface AuditEntry {
  actor: string;
  action: "purge" | "block" | "unblock" | "delete" | "hook";
  request: unknown;
  result: AuditResult;
  status: number;
  detail?: unknown;
}

export interface AuditRecord extends Omit<AuditEntry, "request" | "detail"> {
  id: number;
  at: string;
  request: unknown;
  detail: unknown;
}

/** Never throws: the action has happened; a failed write is logged loudly and reported to the caller. */
export async function writeAudit(db: D1Database, entry: AuditEntry): Promise<boolean> {
  try {
    await db
      .prepare("INSERT INTO audit (at, actor, action, request, result, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(
        new Date().toISOString(),
        entry.actor,
        entry.action,
        JSON.stringify(entry.request ?? null),
        entry.result,
        entry.status,
        entry.detail === undefined ? null : JSON.stringify(entry.detail),
      )
      .run();
    return true;
  } catch (e) {
    log("error", "admin-audit-write-failed", { actor: entry.actor, action: entry.action, result: entry.result, error: String(e) });
    return false;
  }
}

export interface AuditQuery {
  limit: number;
  before?: number;
  action?: string;
  actor?: string;
}

export const MAX_AUDIT_PAGE = 500;

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: AuditEntry["action"];
  request: string;
  result: AuditResult;
  status: number;
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
  const sql = `SELECT id, at, actor, action, request, result, status, detail FROM audit${
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
