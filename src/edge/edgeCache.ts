/**
 * The Cache API of the data centre serving the request. Keys come from `cacheKeyUrl`, shared with the admin
 * worker's purge. Writes run after the response through `ctx.waitUntil` and never delay the client.
 */
import { log } from "../log";
import { cacheKeyRequest, cacheKeyUrl } from "../routing/cacheKey";

/** How long an origin that served a file corrupt is skipped for that file (docs/request-flow.md, "Corrupt copies"). */
export const CORRUPT_MEMO_SECONDS = 600;

export class EdgeCache {
  constructor(
    private readonly cache: Cache,
    private readonly base: string,
    private readonly ctx: ExecutionContext,
  ) {}

  /** The Cache API answers Range requests from a full cached object itself (206 or 416). */
  async match(key: string, range?: string | null): Promise<Response | undefined> {
    try {
      // Without a range the key URL itself is the request (a plain GET): no Request and Headers to build.
      return await this.cache.match(range ? cacheKeyRequest(this.base, key, range) : cacheKeyUrl(this.base, key));
    } catch (e) {
      log("warn", "edge-cache-match-failed", { key, error: String(e) });
      return undefined;
    }
  }

  delete(key: string): void {
    this.ctx.waitUntil(
      this.cache
        .delete(cacheKeyRequest(this.base, key))
        .then(() => undefined)
        .catch((e: unknown) => log("warn", "edge-cache-delete-failed", { key, error: String(e) })),
    );
  }

  /**
   * Stores `response` under `key` in the background; the returned promise settles when the write (and any clean-up)
   * is over, and never rejects. `complete`, when given, says after the write whether the body that was streamed into
   * it passed its checks; if not, the entry is deleted again rather than trusted to the Cache API's handling of a
   * body that errored.
   */
  put(key: string, response: Response, complete?: () => boolean): Promise<void> {
    const request = cacheKeyRequest(this.base, key);
    const settled = this.cache
      .put(request, response)
      .catch((e: unknown) => log("warn", "edge-cache-put-failed", { key, error: String(e) }))
      .then(async () => {
        if (complete && !complete()) await this.cache.delete(request);
      })
      .catch((e: unknown) => log("warn", "edge-cache-delete-failed", { key, error: String(e) }));
    this.ctx.waitUntil(settled);
    return settled;
  }

  private failureMarker(key: string): string {
    return `${cacheKeyUrl(this.base, key)}?failed-transfers`;
  }

  /**
   * What other requests of this data centre saw go wrong with `key` lately: origins that served it corrupt, and
   * when the last failed transfer ended. An edge copy whose write began before then may be a broken one the Cache
   * API kept (Miniflare keeps bodies of writes whose stream failed, even after the delete that follows).
   */
  async failedTransfers(key: string): Promise<FailedTransfers> {
    try {
      const marker = await this.cache.match(this.failureMarker(key));
      if (!marker) return { corruptOrigins: new Set() };
      const value = (await marker.json()) as { origins?: unknown; at?: unknown };
      const origins = Array.isArray(value.origins)
        ? value.origins.filter((n): n is string => typeof n === "string")
        : [];
      return { corruptOrigins: new Set(origins), failedAt: typeof value.at === "number" ? value.at : undefined };
    } catch {
      return { corruptOrigins: new Set() };
    }
  }

  /**
   * Records, for the whole data centre, an origin that served `key` corrupt and/or (`copyFailed`) a transfer whose
   * edge copy failed half-way.
   */
  async markFailed(key: string, failure: { corruptOrigin?: string; copyFailed: boolean }): Promise<void> {
    try {
      const { corruptOrigins, failedAt } = await this.failedTransfers(key);
      if (failure.corruptOrigin !== undefined) corruptOrigins.add(failure.corruptOrigin);
      const at = failure.copyFailed ? Date.now() : failedAt;
      const body = JSON.stringify({ origins: [...corruptOrigins], at });
      await this.cache.put(
        this.failureMarker(key),
        new Response(body, {
          headers: { "content-type": "application/json", "cache-control": `max-age=${CORRUPT_MEMO_SECONDS}` },
        }),
      );
    } catch (e) {
      log("warn", "failure-marker-failed", { key, error: String(e) });
    }
  }
}

interface FailedTransfers {
  corruptOrigins: Set<string>;
  /** When the last failed transfer ended (ms); edge copies whose write began by then are not trusted. */
  failedAt?: number;
}
