/**
 * How fresh the denylist the cache worker checks is, for GET /v1/health (docs/admin.md, "The block model"): the
 * version D1 holds, the version last published to KV and the document KV serves now. A cache worker isolate
 * re-reads that document at most every DENYLIST_REFRESH_SECONDS, so a published change reaches every data centre
 * within that plus KV's propagation.
 */
import { DEFAULT_REFRESH_SECONDS, DENYLIST_DOCUMENT_KEY, DenylistFormatError, parseDenylist } from "../serve/denylist";
import type { AdminConfig } from "./config";

// KV's documented propagation of a write to every location.
const KV_PROPAGATION_SECONDS = 60;

interface DenylistStatus {
  source: "kv-document";
  /** D1's version of the block set and the newest version written to KV (behind: the cron trigger republishes). */
  version: number;
  publishedVersion: number;
  publishedAt: string | null;
  /** The document KV answers with now: its version and key count, or why it is unusable. */
  document: { version: number; keys: number } | { error: string };
  /** Longest a published change takes to reach a cache worker, with the cache worker's default refresh. */
  maxStalenessSeconds: number;
  /** The newest block or unblock in the audit log, if any: what the cache should already reflect. */
  lastChange: { action: string; at: string; by: string } | null;
}

export async function denylistStatus(config: AdminConfig): Promise<DenylistStatus> {
  const [state, last, text] = await Promise.all([
    config.audit
      .prepare("SELECT version, published_version, published_at FROM denylist_state WHERE id = 1")
      .first<{ version: number; published_version: number; published_at: string | null }>(),
    config.audit
      .prepare(
        "SELECT action, at, actor FROM audit WHERE action IN ('block', 'unblock') AND result IN ('ok', 'partial') " +
          "ORDER BY id DESC LIMIT 1",
      )
      .first<{ action: string; at: string; actor: string }>(),
    config.denylist.get(DENYLIST_DOCUMENT_KEY),
  ]);
  let document: DenylistStatus["document"];
  if (text === null) document = { error: "not published" };
  else {
    try {
      const parsed = parseDenylist(text);
      document = { version: parsed.version, keys: parsed.size };
    } catch (e) {
      if (!(e instanceof DenylistFormatError)) throw e;
      document = { error: e.message };
    }
  }
  return {
    source: "kv-document",
    version: state?.version ?? 0,
    publishedVersion: state?.published_version ?? 0,
    publishedAt: state?.published_at ?? null,
    document,
    maxStalenessSeconds: DEFAULT_REFRESH_SECONDS + KV_PROPAGATION_SECONDS,
    lastChange: last ? { action: last.action, at: last.at, by: last.actor } : null,
  };
}
