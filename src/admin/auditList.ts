/** GET /v1/audit?limit=&before=&action=&actor=: the audit log, newest first (docs/admin.md). */
import type { ActionContext, ActionOutcome } from "./action";
import { AUDIT_ACTIONS, listAudit, MAX_AUDIT_PAGE } from "./audit";

export async function auditList(c: ActionContext, request: Request): Promise<ActionOutcome> {
  const url = new URL(request.url);
  const bad = (detail: string): ActionOutcome => ({ kind: "error", error: { kind: "bad-request", detail } });
  const limitText = url.searchParams.get("limit") ?? "50";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_AUDIT_PAGE) return bad(`limit must be 1..${MAX_AUDIT_PAGE}`);
  const beforeText = url.searchParams.get("before");
  if (beforeText !== null && !/^\d+$/.test(beforeText)) return bad("before must be a record id");
  const action = url.searchParams.get("action") ?? undefined;
  if (action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(action)) {
    return bad(`action must be one of ${AUDIT_ACTIONS.join(", ")}`);
  }
  const actor = url.searchParams.get("actor") ?? undefined;
  const records = await listAudit(c.config.audit, {
    limit,
    before: beforeText === null ? undefined : Number(beforeText),
    action,
    actor,
  });
  const last = records[records.length - 1];
  return {
    kind: "ok",
    status: 200,
    body: { records, next: records.length === limit && last ? `?before=${last.id}&limit=${limit}` : null },
  };
}
