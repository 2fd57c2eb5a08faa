/**
 * The Workers Analytics Engine SQL API, as the admin worker calls it to read the cache worker's data points
 * (docs/observability.md). Configured by ANALYTICS_ACCOUNT_ID, ANALYTICS_DATASET, ANALYTICS_SQL_API and the
 * secret ANALYTICS_API_TOKEN (an API token with Account Analytics: Read); unset account id, no metrics.
 */
import { ConfigError } from "../../config";
import { log } from "../../log";
import type { AdminEnv } from "../env";

const DEFAULT_SQL_API_BASE = "https://api.cloudflare.com/client/v4";
const DEFAULT_DATASET = "nix_cache_edge";

export interface AnalyticsConfig {
  accountId: string;
  dataset: string;
  /** `<base>/accounts/<accountId>/analytics_engine/sql`. */
  apiBase: string;
  apiToken: string;
}

export function parseAnalyticsConfig(env: AdminEnv): AnalyticsConfig | undefined {
  const accountId = env.ANALYTICS_ACCOUNT_ID;
  if (!accountId) return undefined;
  if (!/^[0-9a-f]{32}$/.test(accountId)) throw new ConfigError("ANALYTICS_ACCOUNT_ID is not an account id");
  if (!env.ANALYTICS_API_TOKEN)
    throw new ConfigError("ANALYTICS_ACCOUNT_ID is set but the ANALYTICS_API_TOKEN secret is not");
  const dataset = env.ANALYTICS_DATASET || DEFAULT_DATASET;
  // The dataset name goes into SQL text: only a plain identifier is accepted.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(dataset))
    throw new ConfigError("ANALYTICS_DATASET must be a plain identifier");
  const apiBase = (env.ANALYTICS_SQL_API || DEFAULT_SQL_API_BASE).replace(/\/+$/, "");
  if (!/^https?:\/\//.test(apiBase)) throw new ConfigError("ANALYTICS_SQL_API must be http(s)");
  return { accountId, dataset, apiBase, apiToken: env.ANALYTICS_API_TOKEN };
}

type SqlAnswer<Row> = { ok: true; rows: Row[] } | { ok: false; detail: string };

// The SQL API answers within seconds; a page or a scrape must not hang on it.
const SQL_TIMEOUT_MS = 15_000;

/** Runs one query (which must end in FORMAT JSON); the detail of a failure goes to the log, never the token. */
export async function querySql<Row>(config: AnalyticsConfig, sql: string): Promise<SqlAnswer<Row>> {
  const url = `${config.apiBase}/accounts/${config.accountId}/analytics_engine/sql`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${config.apiToken}`, "content-type": "text/plain" },
      body: sql,
      signal: AbortSignal.timeout(SQL_TIMEOUT_MS),
    });
  } catch (e) {
    log("error", "analytics-sql-failed", { detail: String(e) });
    return { ok: false, detail: "SQL API unreachable" };
  }
  const text = await response.text();
  if (!response.ok) {
    log("error", "analytics-sql-failed", { status: response.status, detail: text.slice(0, 500) });
    return { ok: false, detail: `SQL API answered ${response.status}` };
  }
  try {
    const parsed = JSON.parse(text) as { data?: unknown };
    if (!Array.isArray(parsed.data)) throw new Error("no data array");
    return { ok: true, rows: parsed.data as Row[] };
  } catch (e) {
    log("error", "analytics-sql-failed", { detail: `unreadable answer: ${String(e)}` });
    return { ok: false, detail: "SQL API answer unreadable" };
  }
}
