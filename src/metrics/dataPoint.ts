/**
 * One Workers Analytics Engine data point per sampled request of the cache worker. The layout (which blob and
 * double holds which field) is fixed here once: the SQL queries of docs/observability.md and the admin worker's
 * metrics (src/admin/metrics/) name the columns through `COLUMNS`, so a field never moves under a query.
 */
import type { Verification } from "./facts";

export interface RequestDataPoint {
  /** Route kind: narinfo, nar, listing, log, realisation, build-trace, debuginfo, cache-info, landing, health,
   * invalid, unknown. */
  route: string;
  /** X-Cache-Status: HIT, MISS, BYPASS, or NONE for answers made before the edge cache (bad input, config errors). */
  cacheStatus: string;
  status: number;
  /** The answering origin's configured name; `edge` for a hit, `none` when no origin answered. */
  origin: string;
  /** Its position in ORIGINS, -1 for `edge` and `none`. */
  originIndex: number;
  verification: Verification;
  /** The origin whose object failed a check (docs/observability.md, verification failures), or empty. */
  rejectedBy: string;
  /** request.cf.colo: the data centre (IATA code), `unknown` when the runtime gives none (local dev). */
  colo: string;
  method: string;
  /** `complete`, `cut` (the body ended in an error or the client went away), or `empty` (no body). */
  transfer: "complete" | "cut" | "empty";
  bytes: number;
  /** Milliseconds from the request's arrival to the first body byte handed to the runtime (or to the headers). */
  ttfbMs: number;
  /** Milliseconds to the last byte (or to the cut). */
  totalMs: number;
  /** 1 / METRICS_SAMPLE_RATE: how many requests this point stands for. */
  weight: number;
}

/** Column of each field in the dataset, for SQL. `index1` is the route kind, Analytics Engine's sampling key. */
export const COLUMNS = {
  route: "blob1",
  cacheStatus: "blob2",
  origin: "blob3",
  verification: "blob4",
  rejectedBy: "blob5",
  colo: "blob6",
  method: "blob7",
  transfer: "blob8",
  status: "double1",
  originIndex: "double2",
  bytes: "double3",
  ttfbMs: "double4",
  totalMs: "double5",
  weight: "double6",
} as const satisfies Record<keyof RequestDataPoint, string>;

export function toAnalyticsEngine(p: RequestDataPoint): AnalyticsEngineDataPoint {
  return {
    indexes: [p.route],
    blobs: [p.route, p.cacheStatus, p.origin, p.verification, p.rejectedBy, p.colo, p.method, p.transfer],
    doubles: [p.status, p.originIndex, p.bytes, p.ttfbMs, p.totalMs, p.weight],
  };
}
