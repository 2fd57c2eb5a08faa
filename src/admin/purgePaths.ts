/** POST /v1/purge: `{"paths": [...], "dry_run"?: bool}`. */
import { invalid, type ActionContext, type ActionOutcome } from "./action";
import { purgeFailed, purgeUrls, reportOf, resolveTargets } from "./purge";
import { optionalBoolean, unknownFields } from "./requestBody";
import { parseTargets } from "./targets";

export async function purgePaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const request = { paths: body.paths, dry_run: body.dry_run };
  const extra = unknownFields(body, ["paths", "dry_run"]);
  if (extra) return invalid(extra, request);
  const dryRun = optionalBoolean(body, "dry_run");
  if (!dryRun.ok) return invalid(dryRun.error, request);
  const parsed = parseTargets(body.paths, c.config.storeDir);
  if (!parsed.ok) return invalid({ kind: "bad-request", detail: parsed.detail }, request);

  const objects = await resolveTargets(c.config, parsed.targets);
  const paths = parsed.targets.map((t, i) => reportOf(t, objects[i]!, c.config.publicUrl));
  const outcome = await purgeUrls(c.config, paths.flatMap((p) => p.urls), { dryRun: dryRun.value, sleep: c.sleep });
  const warnings = paths
    .filter((p) => p.narinfo === "lookup-failed")
    .map((p) => `${p.hash}: an origin failed, so the NAR and log URLs are unknown; only the narinfo and .ls were purged`);
  const body_ = { dry_run: dryRun.value, paths, purge: outcome, warnings };
  const detail = { urls: outcome.urls, zone: outcome.zone.status, localDeleted: outcome.localDeleted.length };
  if (purgeFailed(outcome)) {
    return { kind: "error", error: { kind: "upstream-failed", detail: "zone purge failed" }, body: body_, audit: { request, result: "partial", detail } };
  }
  return { kind: "ok", status: 200, body: body_, audit: dryRun.value ? undefined : { request, result: "ok", detail } };
}
