/** POST /v1/purge: `{"paths": [...], "dry_run"?: bool}`. */
import { completed, type ActionContext, type ActionOutcome } from "./action";
import { notPurged } from "./blockPaths";
import { purgeUrls, reportOf, resolveTargets } from "./purge";
import { unresolved } from "./servedObjects";
import { parsePathsRequest } from "./targets";

export async function purgePaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const parsed = parsePathsRequest(body, c.config.storeDir);
  if (!parsed.ok) return parsed.outcome;
  const { dryRun } = parsed;
  const request = { paths: body.paths, dry_run: body.dry_run };

  const objects = await resolveTargets(c.config, parsed.targets);
  const paths = parsed.targets.map((t, i) => reportOf(t, objects[i]!, c.config.publicUrl));
  const incomplete = objects.flatMap((o) => unresolved(o) ?? []);
  const purge = await purgeUrls(
    c.config,
    paths.flatMap((p) => p.urls),
    { dryRun, sleep: c.sleep },
  );
  if (purge.zone.status === "failed") incomplete.push(notPurged(purge.zone.notPurged));
  const detail = { urls: purge.urls, zone: purge.zone.status, localDeleted: purge.localDeleted.length };
  return completed({ dry_run: dryRun, paths, purge }, incomplete, request, detail, dryRun);
}
