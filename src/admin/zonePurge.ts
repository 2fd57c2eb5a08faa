/**
 * Global purge through the Cloudflare API: `POST /zones/:zone/purge_cache` with `{"files": [...]}`, in batches of
 * PURGE_BATCH_SIZE (the per-call `files` limit depends on the plan), one call at a time because purge calls are
 * rate limited per zone. 429 and 5xx are retried, honouring Retry-After, a bounded number of times; anything else
 * stops the purge and reports which URLs were not purged, so the caller knows exactly what may still be cached.
 */
import { log } from "../log";
import type { ZonePurgeConfig } from "./config";

const MAX_ATTEMPTS = 5;
/**
 * Longest wait for one retry: a Free zone's limit is 5 purge calls a minute, so a full minute must fit; a Retry-After
 * beyond it gives up rather than hold the admin's request open for longer.
 */
const MAX_RETRY_WAIT_MS = 60_000;

interface PurgeCall {
  files: number;
  attempts: number;
  status: number | "network-error";
}

export type ZonePurgeOutcome =
  | { status: "purged"; calls: PurgeCall[] }
  | { status: "not-configured" }
  | { status: "failed"; calls: PurgeCall[]; error: string; notPurged: string[] };

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryDelayMs(response: Response | undefined, attempt: number): number {
  const header = response?.headers.get("retry-after");
  if (header !== null && header !== undefined) {
    if (/^\d+$/.test(header)) return Number(header) * 1000;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  return Math.min(1000 * 2 ** (attempt - 1), 8000);
}

async function apiErrors(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: { code?: number; message?: string }[] };
    const errors = (body.errors ?? []).map((e) => `${e.code ?? "?"} ${e.message ?? ""}`.trim());
    return errors.length > 0 ? errors.join("; ") : `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function purgeZone(
  zone: ZonePurgeConfig | undefined,
  urls: readonly string[],
  sleep: Sleep = realSleep,
): Promise<ZonePurgeOutcome> {
  if (!zone) return { status: "not-configured" };
  const calls: PurgeCall[] = [];
  const all = batches(urls, zone.batchSize);
  for (const [index, files] of all.entries()) {
    let attempt = 0;
    let lastError = "";
    for (;;) {
      attempt += 1;
      let response: Response | undefined;
      try {
        response = await fetch(`${zone.apiBase}/zones/${zone.zoneId}/purge_cache`, {
          method: "POST",
          headers: { authorization: `Bearer ${zone.apiToken}`, "content-type": "application/json" },
          body: JSON.stringify({ files }),
        });
      } catch (e) {
        lastError = `network error: ${String(e)}`;
      }
      if (response?.ok) {
        await response.body?.cancel();
        calls.push({ files: files.length, attempts: attempt, status: response.status });
        break;
      }
      const retryable = response === undefined || response.status === 429 || response.status >= 500;
      if (response) lastError = await apiErrors(response);
      const wait = retryDelayMs(response, attempt);
      if (!retryable || attempt >= MAX_ATTEMPTS || wait > MAX_RETRY_WAIT_MS) {
        calls.push({ files: files.length, attempts: attempt, status: response?.status ?? "network-error" });
        const notPurged = all.slice(index).flat();
        log("error", "admin-zone-purge-failed", {
          status: response?.status,
          error: lastError,
          notPurged: notPurged.length,
        });
        return { status: "failed", calls, error: lastError, notPurged };
      }
      log("warn", "admin-zone-purge-retry", { status: response?.status, attempt, waitMs: wait });
      await sleep(wait);
    }
  }
  return { status: "purged", calls };
}
