/**
 * Timeouts in the spirit of cache.nixos.org's CDN (NIX-PROTOCOL.md: first byte 15 s, between bytes 10 s).
 * Workers' fetch has no separate connect timeout, so the first-byte limit covers connecting too.
 */
import { OriginTimeout } from "./origin";

export interface Timeouts {
  firstByteMs: number;
  betweenBytesMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { firstByteMs: 15_000, betweenBytesMs: 10_000 };

/**
 * Passes `body` through, failing it when no chunk arrives for `ms`: a stalled origin then ends the transfer (and
 * the cache writes reading it) instead of holding it open forever. `onTimeout` aborts the underlying fetch.
 */
export function withIdleTimeout(
  body: ReadableStream<Uint8Array>,
  ms: number,
  onTimeout: () => void,
  origin = "origin",
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // Pull-based rather than pipeThrough: a consumer that errors (the integrity check) cancels this stream,
  // which cancels the origin's body without leaving a rejected pipe behind.
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: number | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OriginTimeout(origin, "between-bytes")), ms) as unknown as number;
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        if (e instanceof OriginTimeout) {
          onTimeout();
          reader.cancel(e).catch(() => undefined);
        }
        throw e;
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
