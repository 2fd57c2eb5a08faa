/**
 * POST /v1/delete `{"paths": [...], "dry_run"?: bool}`: removes a path's narinfo, .ls and NAR (or an object:
 * realisation, build trace, debuginfo) from every origin that can delete (`Origin.deleteObjects`: R2, and S3 when
 * ALLOW_S3_DELETE is set), then purges them from the edge. Deleting first closes the window in which a request
 * between purge and delete would put the object straight back into the edge cache. Logs are kept: they belong to
 * the derivation, which other outputs share; block the path to hide its log. What an origin the worker may not
 * delete from still holds is reported, since the cache would serve it again (and backfill R2 from it).
 */
import { log } from "../log";
import type { ChainLink } from "../origins/chain";
import { cacheKeyUrl } from "../routing/cacheKey";
import { completed, type ActionContext, type ActionOutcome } from "./action";
import { notPurged } from "./blockPaths";
import { purgeUrls, reportOf, resolveTargets } from "./purge";
import { unresolved } from "./servedObjects";
import { parsePathsRequest } from "./targets";

interface Deletion {
  origin: string;
  keys: string[];
  status: "deleted" | "would-delete" | "failed";
  error?: string;
}

/** S3 is the system of record: deleting there is final, so only with ALLOW_S3_DELETE. */
function deletableOrigins(chain: readonly ChainLink[], allowS3Delete: boolean) {
  return chain.flatMap(({ origin }) => {
    const { deleteObjects } = origin;
    if (!deleteObjects || (origin.type === "s3" && !allowS3Delete)) return [];
    return [{ name: origin.name, deleteObjects: (keys: readonly string[]) => deleteObjects.call(origin, keys) }];
  });
}

export async function deletePaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const parsed = parsePathsRequest(body, c.config.storeDir);
  if (!parsed.ok) return parsed.outcome;
  const { dryRun } = parsed;
  const request = { paths: body.paths, dry_run: body.dry_run };

  const { config } = c;
  const origins = deletableOrigins(config.chain, config.allowS3Delete);
  const objects = await resolveTargets(config, parsed.targets);
  const incomplete = objects.flatMap((o) => unresolved(o) ?? []);
  const results = [];
  for (const [i, target] of parsed.targets.entries()) {
    const served = objects[i]!;
    const report = reportOf(target, served, config.publicUrl);
    const keys = served.routes.flatMap((r) => (r.kind !== "log" && "key" in r ? [r.key] : []));
    const deletions: Deletion[] = [];
    for (const origin of origins) {
      if (dryRun) {
        deletions.push({ origin: origin.name, keys, status: "would-delete" });
        continue;
      }
      const failures = await origin.deleteObjects(keys);
      if (failures.length === 0) {
        deletions.push({ origin: origin.name, keys, status: "deleted" });
      } else {
        log("error", "admin-delete-failed", { origin: origin.name, failures });
        incomplete.push(`${origin.name}: could not delete ${failures.join("; ")}; still served from there`);
        deletions.push({ origin: origin.name, keys, status: "failed", error: failures.join("; ") });
      }
    }
    results.push({ ...report, urls: keys.map((k) => cacheKeyUrl(config.publicUrl, k)), deletions });
  }
  const purge = await purgeUrls(
    config,
    results.flatMap((r) => r.urls),
    { dryRun, sleep: c.sleep },
  );
  if (purge.zone.status === "failed") incomplete.push(notPurged(purge.zone.notPurged));

  // Which origins still answer for the first object (the narinfo of a path): those the worker may not delete
  // from (S3 by default). In a dry run the origins that would be deleted from are skipped.
  const deletable = new Set(origins.map((o) => o.name));
  const warnings: string[] = [];
  for (const [i, r] of results.entries()) {
    const first = objects[i]!.routes[0];
    if (!first || !("key" in first)) continue;
    const still: string[] = [];
    for (const link of config.chain) {
      if (dryRun && deletable.has(link.origin.name)) continue;
      const answer = await link.origin.fetch(first.key, { method: "HEAD" });
      if (answer.kind === "found") still.push(link.origin.name);
    }
    if (still.length > 0) {
      warnings.push(
        `${r.hash ?? r.object}: still in ${still.join(", ")}; ` +
          "the cache will serve it again from there (block it to hide it)",
      );
    }
  }
  const detail = {
    deleted: results.map((r) => ({
      target: r.hash ?? r.object,
      deletions: r.deletions.map((d) => `${d.origin}:${d.status}`),
    })),
    urls: purge.urls,
    zone: purge.zone.status,
  };
  return completed({ dry_run: dryRun, paths: results, purge, warnings }, incomplete, request, detail, dryRun);
}
