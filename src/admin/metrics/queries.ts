/**
 * The SQL the admin worker sends to Analytics Engine, written against the one column layout of the cache
 * worker's data points (src/metrics/dataPoint.ts COLUMNS). docs/observability.md shows the same queries for
 * people to run by hand. Every count is weighted twice: by Analytics Engine's own `_sample_interval` and by the
 * point's weight (1 / METRICS_SAMPLE_RATE).
 */
import { COLUMNS as C } from "../../metrics/dataPoint";

/** Requests a set of points stands for. */
const REQUESTS = `SUM(_sample_interval * ${C.weight})`;
const BYTES = `SUM(_sample_interval * ${C.weight} * ${C.bytes})`;
/** Narinfos and NARs: what Nix clients fetch, and what hit ratios are about (probes and listings aside). */
const CLIENT_ROUTES = `${C.route} IN ('narinfo', 'nar')`;

/** Per hour of the last `hours`: requests and bytes by cache status and answering origin. */
export function hourlySeries(dataset: string, hours: number): string {
  return `SELECT toStartOfInterval(timestamp, INTERVAL '1' HOUR) AS hour,
  ${C.cacheStatus} AS cache_status, ${C.origin} AS origin,
  ${REQUESTS} AS requests, ${BYTES} AS bytes
FROM ${dataset}
WHERE timestamp > NOW() - INTERVAL '${Math.trunc(hours)}' HOUR AND ${CLIENT_ROUTES}
GROUP BY hour, cache_status, origin
ORDER BY hour
FORMAT JSON`;
}

/** Everything the Prometheus exporter reports, over the last `minutes`. */
export function recentTotals(dataset: string, minutes: number): string {
  return `SELECT ${C.route} AS route, ${C.cacheStatus} AS cache_status, ${C.origin} AS origin,
  floor(${C.status} / 100) AS status_class, ${C.verification} AS verification, ${C.rejectedBy} AS rejected_by,
  ${REQUESTS} AS requests, ${BYTES} AS bytes
FROM ${dataset}
WHERE timestamp > NOW() - INTERVAL '${Math.trunc(minutes)}' MINUTE
GROUP BY route, cache_status, origin, status_class, verification, rejected_by
FORMAT JSON`;
}
