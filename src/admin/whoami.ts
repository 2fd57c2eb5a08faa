/**
 * GET /v1/whoami: the calling token's id and scopes, for any known token. The admin page asks it once after
 * login to decide which buttons to show; the API still checks every call's scope itself.
 */
import type { ActionContext, ActionOutcome } from "./action";
import { SCOPES } from "./tokens";

export async function whoami(c: ActionContext): Promise<ActionOutcome> {
  return { kind: "ok", status: 200, body: { id: c.actor, scopes: SCOPES.filter((s) => c.scopes.has(s)) } };
}
