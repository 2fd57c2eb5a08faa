/**
 * Explicit blocks in D1 and the document published from them to KV (docs/admin.md, "The block model").
 * Rows are the only thing an admin call changes; the denylist keys are always computed from all rows, so an
 * explicit block and a key implied by another block can never overwrite or delete each other. Every change bumps
 * `denylist_state.version` in the same transaction; publishing re-checks the version after its KV write and
 * writes again when another change committed meanwhile, so the last write to KV is always of the newest version.
 */
import { log } from "../log";
import { DENYLIST_DOCUMENT_KEY, formatDenylist } from "../serve/denylist";
import type { Sleep } from "./zonePurge";

export interface BlockRow {
  /** `path:<hash>` or `object:<key>`. */
  subject: string;
  reason: string;
  actor: string;
  at: string;
  /** Denylist keys this block implies. */
  keys: string[];
  auditId: number | null;
}

interface RawBlockRow {
  subject: string;
  reason: string;
  actor: string;
  at: string;
  keys: string;
  audit_id: number | null;
}

const fromRaw = (r: RawBlockRow): BlockRow => ({
  subject: r.subject,
  reason: r.reason,
  actor: r.actor,
  at: r.at,
  keys: JSON.parse(r.keys) as string[],
  auditId: r.audit_id,
});

const BUMP = "UPDATE denylist_state SET version = version + 1 WHERE id = 1";

/**
 * Records explicit blocks in one transaction. Blocking a subject again takes the new reason and author and adds
 * the keys found now to those found before, so a retry after a failed narinfo lookup completes the block.
 */
export async function recordBlocks(db: D1Database, rows: readonly BlockRow[]): Promise<void> {
  if (rows.length === 0) return;
  const upsert = db.prepare(
    `INSERT INTO blocks (subject, reason, actor, at, keys, audit_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (subject) DO UPDATE SET reason = excluded.reason, actor = excluded.actor, at = excluded.at,
       audit_id = excluded.audit_id,
       keys = (SELECT json_group_array(value) FROM
                (SELECT value FROM json_each(blocks.keys) UNION SELECT value FROM json_each(excluded.keys)))`,
  );
  await db.batch([
    ...rows.map((r) =>
      upsert.bind(r.subject, r.reason, r.actor, r.at, JSON.stringify([...new Set(r.keys)]), r.auditId),
    ),
    db.prepare(BUMP),
  ]);
}

/** Removes one explicit block; null when there was none (then nothing changed that matters). */
export async function removeBlock(db: D1Database, subject: string): Promise<BlockRow | null> {
  const [deleted] = await db.batch<RawBlockRow>([
    db
      .prepare("DELETE FROM blocks WHERE subject = ? RETURNING subject, reason, actor, at, keys, audit_id")
      .bind(subject),
    db.prepare(BUMP),
  ]);
  const row = deleted?.results[0];
  return row ? fromRaw(row) : null;
}

export async function getBlock(db: D1Database, subject: string): Promise<BlockRow | null> {
  const row = await db
    .prepare("SELECT subject, reason, actor, at, keys, audit_id FROM blocks WHERE subject = ?")
    .bind(subject)
    .first<RawBlockRow>();
  return row ? fromRaw(row) : null;
}

/** The explicit blocks that imply any of these denylist keys. */
export async function blocksImplying(
  db: D1Database,
  keys: readonly string[],
): Promise<{ subject: string; key: string }[]> {
  if (keys.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT DISTINCT blocks.subject AS subject, json_each.value AS key FROM blocks, json_each(blocks.keys)
       WHERE json_each.value IN (${keys.map(() => "?").join(", ")}) ORDER BY blocks.subject`,
    )
    .bind(...keys)
    .all<{ subject: string; key: string }>();
  return results;
}

export type PublishOutcome =
  { status: "published"; version: number; keys: number; rounds: number } | { status: "failed"; error: string };

/** KV allows one write per second per key; a refused write is retried after that long, this many times. */
export const KV_PUT_ATTEMPTS = 4;
const MAX_ROUNDS = 5;

async function putDocument(kv: KVNamespace, text: string, sleep: Sleep): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kv.put(DENYLIST_DOCUMENT_KEY, text);
      return;
    } catch (e) {
      if (attempt >= KV_PUT_ATTEMPTS) throw e;
      log("warn", "admin-denylist-put-retry", { attempt, error: String(e) });
      await sleep(1000 * attempt);
    }
  }
}

const versionOf = (db: D1Database) => db.prepare("SELECT version FROM denylist_state WHERE id = 1");

/** Writes the document of the newest version to KV; never throws. */
export async function publishDenylist(db: D1Database, kv: KVNamespace, sleep: Sleep): Promise<PublishOutcome> {
  try {
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const [state, rows] = await db.batch<{ version?: number; keys?: string }>([
        versionOf(db),
        db.prepare("SELECT keys FROM blocks"),
      ]);
      const version = state!.results[0]!.version!;
      const keys = new Set(rows!.results.flatMap((r) => JSON.parse(r.keys!) as string[]));
      await putDocument(kv, formatDenylist(keys, version, new Date().toISOString()), sleep);
      const after = await versionOf(db).first<number>("version");
      if (after === version) {
        await db
          .prepare(
            "UPDATE denylist_state SET published_version = max(published_version, ?1), published_at = ?2 WHERE id = 1",
          )
          .bind(version, new Date().toISOString())
          .run();
        return { status: "published", version, keys: keys.size, rounds: round };
      }
      // Another change committed while we wrote: its own publish may have landed before ours. Write again.
    }
    log("error", "admin-denylist-publish-failed", { error: "the denylist kept changing" });
    return { status: "failed", error: "the denylist kept changing while it was published" };
  } catch (e) {
    log("error", "admin-denylist-publish-failed", { error: String(e) });
    return { status: "failed", error: String(e) };
  }
}

/** The cron trigger's job: publish when a change has not reached KV (a publish failed after its D1 commit). */
export async function republishIfBehind(
  db: D1Database,
  kv: KVNamespace,
  sleep: Sleep,
): Promise<PublishOutcome | { status: "up-to-date"; version: number }> {
  const state = await db
    .prepare("SELECT version, published_version FROM denylist_state WHERE id = 1")
    .first<{ version: number; published_version: number }>();
  if (state && state.published_version >= state.version) return { status: "up-to-date", version: state.version };
  return publishDenylist(db, kv, sleep);
}
