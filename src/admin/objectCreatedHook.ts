/**
 * POST /v1/hooks/object-created: S3 "Object Created" events, as EventBridge delivers them (an API destination
 * posting the event, or a batch of them as a JSON array), authenticated by the X-Hook-Secret header. For each new
 * `<hash>.narinfo` the cached "not found" answer is purged, so a path uploaded after someone asked for it is
 * visible at once rather than after NEGATIVE_TTL. Other keys are ignored: only narinfo misses are cached.
 *
 * An event (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html):
 *   {"version":"0","detail-type":"Object Created","source":"aws.s3",
 *    "detail":{"bucket":{"name":"nix-cache"},"object":{"key":"<hash>.narinfo","size":1234}}}
 */
import { cacheKeyUrl } from "../routing/cacheKey";
import { parseRoute } from "../routing/routes";
import { invalid, type ActionContext, type ActionOutcome } from "./action";
import { purgeFailed, purgeUrls } from "./purge";

/** An EventBridge API destination sends one event per call; a batch from a pipe or a replay stays small. */
export const MAX_EVENTS = 100;

function objectKeyOf(event: unknown): string | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  const e = event as Record<string, unknown>;
  if (e["detail-type"] !== "Object Created") return undefined;
  const detail = e.detail as Record<string, unknown> | undefined;
  const object = detail?.object as Record<string, unknown> | undefined;
  return typeof object?.key === "string" ? object.key : undefined;
}

export async function objectCreatedHook(c: ActionContext, body: unknown): Promise<ActionOutcome> {
  const events = Array.isArray(body) ? body : [body];
  const request = { events: events.length };
  if (events.length === 0 || events.length > MAX_EVENTS) {
    return invalid({ kind: "bad-request", detail: `expected 1 to ${MAX_EVENTS} events` }, request);
  }
  const keys = events.map(objectKeyOf);
  if (keys.some((k) => k === undefined)) {
    return invalid({ kind: "bad-request", detail: 'every event must be an S3 "Object Created" event with detail.object.key' }, request);
  }
  const purged: string[] = [];
  const ignored: string[] = [];
  for (const key of keys as string[]) {
    let route = null;
    try {
      route = parseRoute("/" + key.replace(/^\/+/, ""));
    } catch {
      route = null;
    }
    if (route?.kind === "narinfo") purged.push(cacheKeyUrl(c.config.publicUrl, route.key));
    else ignored.push(key);
  }
  const outcome = await purgeUrls(c.config, purged, { sleep: c.sleep });
  const body_ = { purged: outcome.urls, ignored, purge: outcome };
  const audit = { request: { keys }, result: purgeFailed(outcome) ? ("partial" as const) : ("ok" as const), detail: { urls: outcome.urls, zone: outcome.zone.status } };
  if (purgeFailed(outcome)) return { kind: "error", error: { kind: "upstream-failed", detail: "zone purge failed" }, body: body_, audit };
  return { kind: "ok", status: 200, body: body_, audit };
}
