/**
 * POST /v1/block `{"paths": [...], "reason": "...", "dry_run"?: bool}`: records one explicit block per store path
 * or object in D1 with the denylist keys it implies, publishes the denylist document, then purges the cached
 * copies (docs/admin.md, "The block model"). Publishing before purging means a copy cached again in between is
 * refused by the cache worker's check on hits once the block reaches it.
 */
import type { ActionContext, ActionOutcome } from "./action";
import { completed, invalid } from "./action";
import { publishDenylist, recordBlocks } from "./denylistStore";
import { purgeFailed, purgeUrls, reportOf, resolveTargets } from "./purge";
import { optionalBoolean, unknownFields } from "./requestBody";
import { impliedKeys, unresolved } from "./servedObjects";
import { parseTargets, subjectOf } from "./targets";

const MAX_REASON_LENGTH = 500;

export function notPublished(error: string): string {
  return (
    `the denylist could not be published (${error}): the change is recorded and the cron trigger publishes it ` +
    "within 5 minutes; until then the cache workers do not see it"
  );
}

export function notPurged(urls: readonly string[]): string {
  return (
    `the zone purge failed: ${urls.length} URL(s) (purge.zone.notPurged) ` +
    "may still be served from other data centres' caches"
  );
}

export async function blockPaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const request = { paths: body.paths, reason: body.reason, dry_run: body.dry_run };
  const extra = unknownFields(body, ["paths", "reason", "dry_run"]);
  if (extra) return invalid(extra, request);
  const dryRun = optionalBoolean(body, "dry_run");
  if (!dryRun.ok) return invalid(dryRun.error, request);
  const reason = typeof body.reason === "string" ? body.reason.trim() : "";
  if (reason === "" || reason.length > MAX_REASON_LENGTH) {
    return invalid(
      { kind: "bad-request", detail: `"reason" must be a non-empty string of at most ${MAX_REASON_LENGTH} characters` },
      request,
    );
  }
  const parsed = parseTargets(body.paths, c.config.storeDir);
  if (!parsed.ok) return invalid({ kind: "bad-request", detail: parsed.detail }, request);

  const { config } = c;
  const objects = await resolveTargets(config, parsed.targets);
  const blocked = parsed.targets.map((target, i) => ({
    ...reportOf(target, objects[i]!, config.publicUrl),
    subject: subjectOf(target),
    denylistKeys: impliedKeys(objects[i]!),
  }));
  const incomplete = objects.flatMap((o) => unresolved(o) ?? []);
  const urls = blocked.flatMap((b) => b.urls);
  const detail = {
    subjects: blocked.map((b) => b.subject),
    denylistKeys: blocked.flatMap((b) => b.denylistKeys),
    urls,
  };
  if (dryRun.value) {
    const purge = await purgeUrls(config, urls, { dryRun: true });
    return completed({ dry_run: true, reason, paths: blocked, purge }, incomplete, request, detail, true);
  }

  const at = new Date().toISOString();
  await recordBlocks(
    config.audit,
    blocked.map((b) => ({
      subject: b.subject,
      reason,
      actor: c.actor,
      at,
      keys: b.denylistKeys,
      auditId: c.auditId ?? null,
    })),
  );
  const published = await publishDenylist(config.audit, config.denylist, c.sleep);
  if (published.status === "failed") incomplete.push(notPublished(published.error));
  const purge = await purgeUrls(config, urls, { sleep: c.sleep });
  if (purge.zone.status === "failed") incomplete.push(notPurged(purge.zone.notPurged));
  return completed({ dry_run: false, reason, paths: blocked, denylist: published, purge }, incomplete, request, {
    ...detail,
    denylist: published.status === "published" ? published.version : "failed",
    zone: purge.zone.status,
    purgeFailed: purgeFailed(purge),
  });
}
