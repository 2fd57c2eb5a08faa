/**
 * GET /v1/metrics?hours=N (scope read): the admin page's charts. Per hour: the edge hit ratio of narinfos and NARs
 * and each origin's share of the answers (`edge` for hits), from the cache worker's Analytics Engine points.
 */
import type { ActionContext, ActionOutcome } from "../action";
import { querySql } from "./analyticsSql";
import { hourlySeries } from "./queries";

const MAX_HOURS = 168;

interface Row {
  hour: string;
  cache_status: string;
  origin: string;
  requests: number | string;
  bytes: number | string;
}

interface HourBucket {
  hour: string;
  requests: number;
  /** HIT over all answers with a cache status (HIT, MISS, BYPASS); null when there were none. */
  hitRatio: number | null;
  origins: { origin: string; requests: number; bytes: number; share: number }[];
}

function bucketsOf(rows: readonly Row[]): HourBucket[] {
  const byHour = new Map<string, Row[]>();
  for (const row of rows) byHour.set(row.hour, [...(byHour.get(row.hour) ?? []), row]);
  return [...byHour.entries()].map(([hour, hourRows]) => {
    const total = hourRows.reduce((sum, r) => sum + Number(r.requests), 0);
    const counted = hourRows.filter((r) => ["HIT", "MISS", "BYPASS"].includes(r.cache_status));
    const countedTotal = counted.reduce((sum, r) => sum + Number(r.requests), 0);
    const hits = counted.filter((r) => r.cache_status === "HIT").reduce((sum, r) => sum + Number(r.requests), 0);
    const origins = new Map<string, { requests: number; bytes: number }>();
    for (const r of hourRows) {
      const o = origins.get(r.origin) ?? { requests: 0, bytes: 0 };
      o.requests += Number(r.requests);
      o.bytes += Number(r.bytes);
      origins.set(r.origin, o);
    }
    return {
      hour,
      requests: total,
      hitRatio: countedTotal > 0 ? hits / countedTotal : null,
      origins: [...origins.entries()]
        .map(([origin, o]) => ({ origin, ...o, share: total > 0 ? o.requests / total : 0 }))
        .sort((a, b) => b.requests - a.requests),
    };
  });
}

export async function metricsSeries(c: ActionContext, url: URL): Promise<ActionOutcome> {
  const hoursText = url.searchParams.get("hours") ?? "6";
  const hours = Number(hoursText);
  if (!/^\d+$/.test(hoursText) || hours < 1 || hours > MAX_HOURS) {
    return { kind: "error", error: { kind: "bad-request", detail: `hours must be 1..${MAX_HOURS}` } };
  }
  const analytics = c.config.analytics;
  if (!analytics) return { kind: "ok", status: 200, body: { configured: false, hours, buckets: [] } };
  const answer = await querySql<Row>(analytics, hourlySeries(analytics.dataset, hours));
  if (!answer.ok) return { kind: "error", error: { kind: "upstream-failed", detail: answer.detail } };
  return { kind: "ok", status: 200, body: { configured: true, hours, buckets: bucketsOf(answer.rows) } };
}
