/**
 * GET /v1/metrics/prometheus (scope read): the cache worker's last minutes as Prometheus gauges, so the monitoring
 * host can alert on them (infra/monitoring/, docs/observability.md). Analytics Engine is the store; this is only a
 * window onto it, read at each scrape: every value is the count over the last WINDOW_MINUTES, not a counter.
 */
import { log } from "../../log";
import type { AdminConfig } from "../config";
import { querySql } from "./analyticsSql";
import { recentTotals } from "./queries";

const WINDOW_MINUTES = 5;

interface Row {
  route: string;
  cache_status: string;
  origin: string;
  status_class: number | string;
  verification: string;
  rejected_by: string;
  requests: number | string;
  bytes: number | string;
}

const FAILED_CHECKS = new Set(["forged", "unsigned", "wrong-path", "corrupt-nar"]);

function labels(values: Record<string, string>): string {
  const body = Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
  return `{${body}}`;
}

/** Sums rows into one gauge per distinct label set. */
function gauge(
  name: string,
  help: string,
  rows: readonly Row[],
  labelsOf: (r: Row) => Record<string, string> | undefined,
  value: (r: Row) => number,
): string[] {
  const sums = new Map<string, number>();
  for (const r of rows) {
    const l = labelsOf(r);
    if (!l) continue;
    const key = labels(l);
    sums.set(key, (sums.get(key) ?? 0) + value(r));
  }
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...[...sums.entries()].map(([l, v]) => `${name}${l} ${v}`)];
}

export function exposition(rows: readonly Row[] | undefined): string {
  const lines = [
    "# HELP nix_cache_edge_metrics_up Whether the Analytics Engine query of this scrape succeeded.",
    "# TYPE nix_cache_edge_metrics_up gauge",
    `nix_cache_edge_metrics_up ${rows ? 1 : 0}`,
    "# HELP nix_cache_edge_window_seconds The window every other gauge counts over.",
    "# TYPE nix_cache_edge_window_seconds gauge",
    `nix_cache_edge_window_seconds ${WINDOW_MINUTES * 60}`,
  ];
  if (rows) {
    lines.push(
      ...gauge(
        "nix_cache_edge_requests",
        "Requests answered by the cache worker in the window, " +
          "by route, cache status, answering origin and status class.",
        rows,
        (r) => ({
          route: r.route,
          cache_status: r.cache_status,
          origin: r.origin,
          status_class: `${Number(r.status_class)}xx`,
        }),
        (r) => Number(r.requests),
      ),
      ...gauge(
        "nix_cache_edge_bytes",
        "Bytes sent in the window, by answering origin (edge for hits).",
        rows,
        (r) => ({ origin: r.origin }),
        (r) => Number(r.bytes),
      ),
      ...gauge(
        "nix_cache_edge_verification_failures",
        "Requests in the window where an object failed a check, by outcome and by the origin that held it.",
        rows,
        (r) =>
          FAILED_CHECKS.has(r.verification) ? { verification: r.verification, origin: r.rejected_by } : undefined,
        (r) => Number(r.requests),
      ),
    );
  }
  return lines.join("\n") + "\n";
}

export async function prometheusMetrics(config: AdminConfig): Promise<Response> {
  const analytics = config.analytics;
  let rows: Row[] | undefined;
  if (analytics) {
    const answer = await querySql<Row>(analytics, recentTotals(analytics.dataset, WINDOW_MINUTES));
    rows = answer.ok ? answer.rows : undefined;
  } else {
    log("warn", "analytics-not-configured", { route: "/v1/metrics/prometheus" });
  }
  return new Response(exposition(rows), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
  });
}
