/** POST /v1/purge: `{"paths": [...], "dry_run"?: bool}`. */
import type { ActionContext, ActionOutcome } from "./action";
import { purgeFailed, purgeUrls, reportOf, resolveTargets } from "./purge";
import { parsePathsRequest } from "./targets";

export async function purgePaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const parsed = parsePathsRequest(body, c.config.storeDir);
  if (!parsed.ok) return parsed.outcome;
  const { dryRun } = parsed;
  const request = { paths: body.paths, dry_run: body.dry_run };

  const objects = await resolveTargets(c.config, parsed.targets);
  const paths = parsed.targets.map((t, i) => reportOf(t, objects[i]!, c.config.publicUrl));
  const outcome = await purgeUrls(c.config, paths.flatMap((p) => p.urls), { dryRun: dryRun, sleep: c.sleep });
  const warnings = paths
    .filter((p) => p.narinfo === "lookup-failed")
    .map((p) => `${p.hash}: an origin failed, so the NAR and log URLs are unknown; only the narinfo and .ls were purged`);
  const body_ = { dry_run: dryRun, paths, purge: outcome, warnings };
  const detail = { urls: outcome.urls, zone: outcome.zone.status, localDeleted: outcome.localDeleted.length };
  if (purgeFailed(outcome)) {
    return { kind: "error", error: { kind: "upstream-failed", detail: "zone purge failed" }, body: body_, audit: { request, result: "partial", detail } };
  }
  return { kind: "ok", status: 200, body: body_, audit: dryRun ? undefined : { request, result: "ok", detail } };
}
