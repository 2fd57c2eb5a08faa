/**
 * POST /v1/delete `{"paths": [...], "dry_run"?: bool}`: removes a path's narinfo, .ls and NAR from the R2 origins
 * (and from the S3 origins when ALLOW_S3_DELETE is set), then purges them from the edge. Deleting first closes the
 * window in which a request between purge and delete would put the object straight back into the edge cache.
 * Logs are kept: they belong to the derivation, which other outputs share; block the path to hide its log.
 * What an origin the worker may not delete from still holds is reported, since the cache would serve it again
 * (and backfill R2 from it).
 */
import { log } from "../log";
import type { R2Origin } from "../origins/r2";
import { S3Origin } from "../origins/s3";
import { cacheKeyUrl } from "../routing/cacheKey";
import type { ActionContext, ActionOutcome } from "./action";
import { purgeFailed, purgeUrls, reportOf, resolveTargets } from "./purge";
import { parsePathsRequest } from "./targets";

interface Deletion {
  origin: string;
  keys: string[];
  status: "deleted" | "would-delete" | "failed";
  error?: string;
}

async function deleteFromS3(origin: S3Origin, keys: string[]): Promise<Deletion> {
  const failures = await origin.deleteObjects(keys);
  if (failures.length > 0) {
    log("error", "admin-s3-delete-failed", { origin: origin.name, failures });
    return { origin: origin.name, keys, status: "failed", error: failures.join("; ") };
  }
  return { origin: origin.name, keys, status: "deleted" };
}

export async function deletePaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const parsed = parsePathsRequest(body, c.config.storeDir);
  if (!parsed.ok) return parsed.outcome;
  const { dryRun } = parsed;
  const request = { paths: body.paths, dry_run: body.dry_run };

  const { config } = c;
  const r2 = config.chain.filter((l) => l.origin.type === "r2").map((l) => l.origin as R2Origin);
  // The S3 origins of the cache's own chain, so deletes go exactly where the cache reads from.
  const s3 = config.allowS3Delete ? config.chain.flatMap((l) => (l.origin instanceof S3Origin ? [l.origin] : [])) : [];
  const objects = await resolveTargets(config, parsed.targets);
  const results = [];
  let failed = false;
  for (const [i, target] of parsed.targets.entries()) {
    const served = objects[i]!;
    const report = reportOf(target, served, config.publicUrl);
    const keys = served.routes.filter((r) => r.kind === "narinfo" || r.kind === "listing" || r.kind === "nar").map((r) => ("key" in r ? r.key : ""));
    const deletions: Deletion[] = [];
    for (const origin of r2) {
      if (dryRun) {
        deletions.push({ origin: origin.name, keys, status: "would-delete" });
        continue;
      }
      try {
        await origin.bucket.delete(keys);
        deletions.push({ origin: origin.name, keys, status: "deleted" });
      } catch (e) {
        failed = true;
        deletions.push({ origin: origin.name, keys, status: "failed", error: String(e) });
      }
    }
    for (const target3 of s3) {
      if (dryRun) deletions.push({ origin: target3.name, keys, status: "would-delete" });
      else {
        const d = await deleteFromS3(target3, keys);
        failed ||= d.status === "failed";
        deletions.push(d);
      }
    }
    results.push({ ...report, urls: keys.map((k) => cacheKeyUrl(config.publicUrl, k)), deletions });
  }
  const outcome = await purgeUrls(config, results.flatMap((r) => r.urls), { dryRun: dryRun, sleep: c.sleep });

  // Which origins still answer for the narinfo: those the worker may not delete from (S3 by default). In a dry run
  // the origins that would be deleted from are skipped.
  const deletable = new Set([...r2.map((o) => o.name), ...s3.map((t) => t.name)]);
  const warnings: string[] = [];
  for (const r of results) {
    const still: string[] = [];
    for (const link of config.chain) {
      if (dryRun && deletable.has(link.origin.name)) continue;
      const answer = await link.origin.fetch(`${r.hash}.narinfo`, { method: "HEAD" });
      if (answer.kind === "found") still.push(link.origin.name);
    }
    if (still.length > 0) {
      warnings.push(`${r.hash}: still in ${still.join(", ")}; the cache will serve it again from there (block it to hide it)`);
    }
  }
  const body_ = { dry_run: dryRun, paths: results, purge: outcome, warnings };
  const detail = {
    deleted: results.map((r) => ({ hash: r.hash, deletions: r.deletions.map((d) => `${d.origin}:${d.status}`) })),
    urls: outcome.urls,
    zone: outcome.zone.status,
  };
  if (failed || purgeFailed(outcome)) {
    return {
      kind: "error",
      error: { kind: "upstream-failed", detail: failed ? "delete failed" : "zone purge failed" },
      body: body_,
      audit: { request, result: "partial", detail },
    };
  }
  return { kind: "ok", status: 200, body: body_, audit: dryRun ? undefined : { request, result: "ok", detail } };
}
