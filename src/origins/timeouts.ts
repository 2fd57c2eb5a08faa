/**
 * Timeouts in the spirit of cache.nixos.org's CDN (NIX-PROTOCOL.md: first byte 15 s, between bytes 10 s).
 * Workers' fetch has no separate connect timeout, so the first-byte limit covers connecting too.
 */
export interface Timeouts {
  firstByteMs: number;
  betweenBytesMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { firstByteMs: 15_000, betweenBytesMs: 10_000 };

/**
 * Passes `body` through, aborting `controller` when no chunk arrives for `ms`; the reader then sees an error,
 * so a stalled origin ends the transfer (and its cache write) instead of holding it open forever.
 */
export function withIdleTimeout(
  body: ReadableStream<Uint8Array>,
  ms: number,
  onTimeout: () => void,
): ReadableStream<Uint8Array> {
  let timer: number | undefined;
  const disarm = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const reader = body.getReader();
  // Pull-based rather than pipeThrough: a consumer that errors (the integrity check) cancels this stream,
  // which cancels the origin's body without leaving a rejected pipe behind.
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      timer = setTimeout(onTimeout, ms) as unknown as number;
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } finally {
        disarm();
      }
    },
    cancel(reason) {
      disarm();
      return reader.cancel(reason);
    },
  });
}
