/**
 * POST /v1/hooks/object-created: S3 "Object Created" events, as EventBridge delivers them (an API destination
 * posting the event, or a batch of them as a JSON array), authenticated by the X-Hook-Secret header (checked by
 * the router). For each new `<hash>.narinfo` the cached "not found" answer is purged, so a path uploaded after
 * someone asked for it is visible at once rather than after NEGATIVE_TTL. Other keys are ignored: only narinfo
 * misses are cached. docs/admin.md, "POST /v1/hooks/object-created", has the rules:
 *
 * - only events of the buckets in HOOK_BUCKETS, and no older than MAX_EVENT_AGE_MS;
 * - an event whose `sequencer` is not larger than the one recorded for its bucket and key is a duplicate (a retry,
 *   or a replay of a captured request) and purges nothing; sequencers are recorded once their purge succeeded;
 * - the body's size is checked from Content-Length before reading, and read through a bounded reader.
 *
 * An event (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html):
 *   {"version":"0","detail-type":"Object Created","source":"aws.s3","time":"2026-11-30T12:00:00Z",
 *    "detail":{"bucket":{"name":"nix-cache"},
 *              "object":{"key":"<hash>.narinfo","size":1234,"sequencer":"0062E99A88DC407460"}}}
 */
import { cacheKeyUrl } from "../routing/cacheKey";
import { parseRoute } from "../routing/routes";
import { completed, type ActionContext, type ActionOutcome } from "./action";
import { notPurged } from "./blockPaths";
import { purgeUrls } from "./purge";

/** An EventBridge API destination sends one event per call; a batch from a pipe or a replay stays small. */
const MAX_EVENTS = 100;
/**
 * EventBridge retries a delivery for up to 24 hours; an older event is a replay. Recorded sequencers are kept
 * this long (the cron trigger prunes older ones), so every replay is either too old or recognised.
 */
const MAX_EVENT_AGE_MS = 2 * 24 * 3600 * 1000;
/** Sequencers are hex of varying length, compared after right-padding with zeros (S3's rule). */
const SEQUENCER_WIDTH = 64;

interface ObjectEvent {
  bucket: string;
  key: string;
  sequencer: string;
  time: number;
}

function parseEvent(event: unknown): ObjectEvent | string {
  if (typeof event !== "object" || event === null) return "not an object";
  const e = event as Record<string, unknown>;
  if (e["detail-type"] !== "Object Created" || e.source !== "aws.s3") return 'not an S3 "Object Created" event';
  const detail = e.detail as Record<string, unknown> | undefined;
  const bucket = (detail?.bucket as Record<string, unknown> | undefined)?.name;
  const object = detail?.object as Record<string, unknown> | undefined;
  if (typeof bucket !== "string" || typeof object?.key !== "string")
    return "no detail.bucket.name or detail.object.key";
  if (typeof object.sequencer !== "string" || !/^[0-9A-Fa-f]{1,64}$/.test(object.sequencer))
    return "no detail.object.sequencer";
  const time = typeof e.time === "string" ? Date.parse(e.time) : NaN;
  if (Number.isNaN(time)) return "no time";
  return { bucket, key: object.key, sequencer: object.sequencer.toUpperCase().padEnd(SEQUENCER_WIDTH, "0"), time };
}

const refused = (detail: string, request: unknown): ActionOutcome => ({
  kind: "error",
  error: { kind: "bad-request", detail },
  audit: { request, result: "refused", detail: { reason: detail } },
});

export async function objectCreatedHook(c: ActionContext, body: unknown): Promise<ActionOutcome> {
  const raw = Array.isArray(body) ? body : [body];
  if (raw.length === 0 || raw.length > MAX_EVENTS)
    return refused(`expected 1 to ${MAX_EVENTS} events`, { events: raw.length });
  const events: ObjectEvent[] = [];
  for (const [i, e] of raw.entries()) {
    const parsed = parseEvent(e);
    if (typeof parsed === "string") return refused(`events[${i}]: ${parsed}`, { events: raw.length });
    events.push(parsed);
  }
  const request = {
    events: events.map((e) => ({ bucket: e.bucket, key: e.key, sequencer: e.sequencer.replace(/0+$/, "") })),
  };
  const foreign = [...new Set(events.filter((e) => !c.config.hookBuckets.includes(e.bucket)).map((e) => e.bucket))];
  if (foreign.length > 0) {
    return refused(`events of bucket(s) ${foreign.join(", ")}, which HOOK_BUCKETS does not name`, request);
  }
  const stale = events.filter((e) => Date.now() - e.time > MAX_EVENT_AGE_MS);
  if (stale.length > 0)
    return refused(`${stale.length} event(s) older than ${MAX_EVENT_AGE_MS / 3600_000} hours (a replay)`, request);

  const db = c.config.audit;
  const known = db.prepare("SELECT sequencer FROM hook_events WHERE bucket = ? AND key = ?");
  const fresh: ObjectEvent[] = [];
  const duplicates: string[] = [];
  const seen = new Map<string, string>();
  for (const e of events) {
    const id = `${e.bucket}/${e.key}`;
    const recorded = seen.get(id) ?? (await known.bind(e.bucket, e.key).first<string>("sequencer")) ?? "";
    if (e.sequencer <= recorded) {
      duplicates.push(e.key);
      continue;
    }
    seen.set(id, e.sequencer);
    fresh.push(e);
  }
  const purgeKeys: string[] = [];
  const ignored: string[] = [];
  for (const e of fresh) {
    let route = null;
    try {
      route = parseRoute("/" + e.key.replace(/^\/+/, ""));
    } catch {
      route = null;
    }
    if (route?.kind === "narinfo") purgeKeys.push(cacheKeyUrl(c.config.publicUrl, route.key));
    else ignored.push(e.key);
  }
  const purge = await purgeUrls(c.config, purgeKeys, { sleep: c.sleep });
  const incomplete = purge.zone.status === "failed" ? [notPurged(purge.zone.notPurged)] : [];
  if (incomplete.length === 0 && fresh.length > 0) {
    // Only now: a failed purge is retried by EventBridge and must not then be taken for a duplicate.
    const record = db.prepare(
      `INSERT INTO hook_events (bucket, key, sequencer, at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (bucket, key) DO UPDATE SET sequencer = excluded.sequencer, at = excluded.at
       WHERE excluded.sequencer > hook_events.sequencer`,
    );
    const at = new Date().toISOString();
    await db.batch(
      [...seen].map(([id, sequencer]) => {
        const slash = id.indexOf("/");
        return record.bind(id.slice(0, slash), id.slice(slash + 1), sequencer, at);
      }),
    );
  }
  return completed({ purged: purge.urls, ignored, duplicates, purge }, incomplete, request, {
    urls: purge.urls,
    duplicates,
    zone: purge.zone.status,
  });
}

/** The cron trigger's job: recorded sequencers older than any event the hook still accepts. */
export async function pruneHookEvents(db: D1Database): Promise<void> {
  await db
    .prepare("DELETE FROM hook_events WHERE at < ?")
    .bind(new Date(Date.now() - MAX_EVENT_AGE_MS).toISOString())
    .run();
}
