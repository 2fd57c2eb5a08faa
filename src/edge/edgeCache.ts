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
      return await this.cache.match(cacheKeyRequest(this.base, key, range));
    } catch (e) {
      log("warn", "edge-cache-match-failed", { key, error: String(e) });
      return undefined;
    }
  }

  delete(key: string): void {
    this.ctx.waitUntil(this.cache.delete(cacheKeyRequest(this.base, key)).then(() => undefined));
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

  private corruptMarker(key: string): string {
    return `${cacheKeyUrl(this.base, key)}?corrupt-origins`;
  }

  /** Origins that served `key` corrupt lately, as other isolates of this data centre saw it. */
  async corruptOrigins(key: string): Promise<Set<string>> {
    try {
      const marker = await this.cache.match(this.corruptMarker(key));
      if (!marker) return new Set();
      const names: unknown = await marker.json();
      return new Set(Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : []);
    } catch {
      return new Set();
    }
  }

  /** Records that `origin` served `key` corrupt, for the other isolates of this data centre. */
  async markCorrupt(key: string, origin: string): Promise<void> {
    try {
      const names = await this.corruptOrigins(key);
      names.add(origin);
      const body = JSON.stringify([...names]);
      await this.cache.put(
        this.corruptMarker(key),
        new Response(body, { headers: { "content-type": "application/json", "cache-control": `max-age=${CORRUPT_MEMO_SECONDS}` } }),
      );
    } catch (e) {
      log("warn", "corrupt-marker-failed", { key, error: String(e) });
    }
  }
}
