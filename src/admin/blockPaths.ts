/**
 * POST /v1/block `{"paths": [...], "reason": "...", "dry_run"?: bool}` and DELETE /v1/block/<hash>.
 * Writes the keys the cache worker checks (`denylistKeys` of every route of the path: `path:<hash>`,
 * `object:<NAR key>`, `path:<deriver hash>` for the log), then purges, so no cached copy outlives the block.
 * Related keys (NAR, log) can be shared by several blocked paths (two outputs of one derivation share a log), so
 * each records the blocked hashes it is there `for`, and an unblock removes it only when no other block needs it.
 */
import { log } from "../log";
import { denylistKeys } from "../serve/denylist";
import { invalid, type ActionContext, type ActionOutcome } from "./action";
import { purgeFailed, purgeUrls, reportOf, resolveTargets } from "./purge";
import { optionalBoolean, unknownFields } from "./requestBody";
import { parseTargets } from "./targets";

export interface BlockRecord {
  reason: string;
  by: string;
  at: string;
  /** On `path:<hash>`: the related keys written with it. */
  keys?: string[];
  /** On related keys: the blocked hashes that need this key. */
  for?: string[];
}

export const MAX_REASON_LENGTH = 500;

async function readRecord(kv: KVNamespace, key: string): Promise<BlockRecord | null> {
  const raw = await kv.get(key);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as BlockRecord;
  } catch {
    // Written by hand or by an older version: still a block, with an unknown reason.
    return { reason: raw, by: "unknown", at: "unknown" };
  }
}

export async function blockPaths(c: ActionContext, body: Record<string, unknown>): Promise<ActionOutcome> {
  const request = { paths: body.paths, reason: body.reason, dry_run: body.dry_run };
  const extra = unknownFields(body, ["paths", "reason", "dry_run"]);
  if (extra) return invalid(extra, request);
  const dryRun = optionalBoolean(body, "dry_run");
  if (!dryRun.ok) return invalid(dryRun.error, request);
  const reason = body.reason;
  if (typeof reason !== "string" || reason.trim() === "" || reason.length > MAX_REASON_LENGTH) {
    return invalid({ kind: "bad-request", detail: `"reason" must be a non-empty string of at most ${MAX_REASON_LENGTH} characters` }, request);
  }
  const parsed = parseTargets(body.paths, c.config.storeDir);
  if (!parsed.ok) return invalid({ kind: "bad-request", detail: parsed.detail }, request);

  const kv = c.config.denylist;
  const at = new Date().toISOString();
  const objects = await resolveTargets(c.config, parsed.targets);
  const blocked = [];
  for (const [i, target] of parsed.targets.entries()) {
    const served = objects[i]!;
    const primary = `path:${target.hash}`;
    const keys = [...new Set(served.routes.flatMap(denylistKeys))];
    const related = keys.filter((k) => k !== primary);
    if (!dryRun.value) {
      for (const key of related) {
        const existing = await readRecord(kv, key);
        const forHashes = [...new Set([...(existing?.for ?? []), target.hash])];
        await kv.put(key, JSON.stringify({ reason: reason.trim(), by: c.actor, at, for: forHashes } satisfies BlockRecord));
      }
      // Written last: while it exists, its `keys` name everything an unblock must clean up.
      const previous = await readRecord(kv, primary);
      const allRelated = [...new Set([...(previous?.keys ?? []), ...related])];
      await kv.put(primary, JSON.stringify({ reason: reason.trim(), by: c.actor, at, keys: allRelated } satisfies BlockRecord));
    }
    blocked.push({ ...reportOf(target, served, c.config.publicUrl), denylistKeys: [primary, ...related] });
  }
  const outcome = await purgeUrls(c.config, blocked.flatMap((b) => b.urls), { dryRun: dryRun.value, sleep: c.sleep });
  const body_ = { dry_run: dryRun.value, reason: reason.trim(), paths: blocked, purge: outcome };
  const detail = { denylistKeys: blocked.flatMap((b) => b.denylistKeys), urls: outcome.urls, zone: outcome.zone.status };
  if (purgeFailed(outcome)) {
    // The block itself holds (the cache worker checks the denylist before its cache); only the purge is incomplete.
    return { kind: "error", error: { kind: "upstream-failed", detail: "zone purge failed" }, body: body_, audit: { request, result: "partial", detail } };
  }
  return { kind: "ok", status: 200, body: body_, audit: dryRun.value ? undefined : { request, result: "ok", detail } };
}

export async function unblockPath(c: ActionContext, param: string): Promise<ActionOutcome> {
  const request = { path: param };
  const parsed = parseTargets([param], c.config.storeDir);
  if (!parsed.ok) return invalid({ kind: "bad-request", detail: parsed.detail }, request);
  const hash = parsed.targets[0]!.hash;
  const kv = c.config.denylist;
  const primary = `path:${hash}`;
  const record = await readRecord(kv, primary);
  if (record === null) {
    return { kind: "error", error: { kind: "not-found", detail: `${hash} is not blocked` }, audit: { request, result: "invalid", detail: { blocked: false } } };
  }
  const removed = [primary];
  const kept: string[] = [];
  for (const key of record.keys ?? []) {
    const related = await readRecord(kv, key);
    if (related === null) continue;
    const others = (related.for ?? []).filter((h) => h !== hash);
    if (others.length > 0) {
      await kv.put(key, JSON.stringify({ ...related, for: others }));
      kept.push(key);
    } else {
      await kv.delete(key);
      removed.push(key);
    }
  }
  await kv.delete(primary);
  log("info", "admin-unblocked", { hash, by: c.actor, removed, kept });
  return {
    kind: "ok",
    status: 200,
    body: { hash, unblocked: true, was: { reason: record.reason, by: record.by, at: record.at }, removed, keptForOtherBlocks: kept },
    audit: { request, result: "ok", detail: { removed, kept } },
  };
}
