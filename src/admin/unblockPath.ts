/**
 * DELETE /v1/block/<path or object>: removes one explicit block and republishes the denylist. Only what was
 * blocked explicitly can be unblocked: a `.drv` whose log is hidden by a block of its output is not itself
 * blocked, so unblocking it is a 404 that names the blocks hiding it (docs/admin.md, "The block model").
 * 410s are never cached, so nothing needs purging.
 */
import { log } from "../log";
import { FormatError } from "../narinfo/errors";
import { logKey, objectKey, pathKey } from "../serve/denylist";
import { completed, invalid, type ActionContext, type ActionOutcome } from "./action";
import { notPublished } from "./blockPaths";
import { blocksImplying, publishDenylist, removeBlock } from "./denylistStore";
import { parseTarget, subjectOf, type Target } from "./targets";

/** The keys that would hide a target's own objects, whoever's block implies them. */
const ownKeys = (t: Target): string[] =>
  t.kind === "path" ? [pathKey(t.hash), logKey(t.hash)] : [objectKey(t.route.key)];

export async function unblockPath(c: ActionContext, param: string): Promise<ActionOutcome> {
  const request = { path: param };
  let target: Target;
  try {
    target = parseTarget(param.trim(), c.config.storeDir);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return invalid({ kind: "bad-request", detail: `${e.what}: ${e.message}` }, request);
  }
  const subject = subjectOf(target);
  const { config } = c;
  const row = await removeBlock(config.audit, subject);
  if (row === null) {
    const hiding = [...new Set((await blocksImplying(config.audit, ownKeys(target))).map((b) => b.subject))];
    const hiddenBy = hiding.length > 0 ? `; it is hidden by the block of ${hiding.join(", ")}` : "";
    const detail = `${subject} is not blocked explicitly${hiddenBy}`;
    return {
      kind: "error",
      error: { kind: "not-found", detail },
      audit: { request, result: "invalid", detail: { blocked: false, hiddenBy: hiding } },
    };
  }
  const published = await publishDenylist(config.audit, config.denylist, c.sleep);
  // Keys of this block that other blocks still imply stay in the denylist.
  const kept = (await blocksImplying(config.audit, row.keys)).map((b) => ({ key: b.key, by: b.subject }));
  const removed = row.keys.filter((k) => !kept.some((x) => x.key === k));
  log("info", "admin-unblocked", { subject, by: c.actor, removed, kept });
  const incomplete = published.status === "failed" ? [notPublished(published.error)] : [];
  return completed(
    {
      subject,
      hash: target.kind === "path" ? target.hash : undefined,
      unblocked: true,
      was: { reason: row.reason, by: row.actor, at: row.at },
      removed,
      keptForOtherBlocks: kept,
      denylist: published,
    },
    incomplete,
    request,
    { subject, removed, kept, denylist: published.status === "published" ? published.version : "failed" },
  );
}
