/**
 * The Cache API of the data centre serving the request. Keys come from `cacheKeyUrl`, shared with the admin
 * worker's purge. Writes run after the response through `ctx.waitUntil` and never delay the client.
 */
import { log } from "../log";
import { cacheKeyRequest } from "../routing/cacheKey";

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
   * Stores `response` under `key` in the background. `complete`, when given, says after the write whether the body
   * that was streamed into it passed its checks; if not, the entry is deleted again rather than trusted to the
   * Cache API's handling of a body that errored.
   */
  put(key: string, response: Response, complete?: () => boolean): void {
    const request = cacheKeyRequest(this.base, key);
    this.ctx.waitUntil(
      this.cache
        .put(request, response)
        .catch((e: unknown) => log("warn", "edge-cache-put-failed", { key, error: String(e) }))
        .then(async () => {
          if (complete && !complete()) await this.cache.delete(request);
        }),
    );
  }
}
