/**
 * Timeouts in the spirit of cache.nixos.org's CDN (docs/protocol.md: first byte 15 s, between bytes 10 s).
 * Workers' fetch has no separate connect timeout, so the first-byte limit covers connecting too.
 */
import { OriginTimeout } from "./origin";

export interface Timeouts {
  firstByteMs: number;
  betweenBytesMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { firstByteMs: 15_000, betweenBytesMs: 10_000 };

// fetch() bodies arrive in ~4 KiB pieces, and every JavaScript stream step costs per piece: reading at least
// 64 KiB at a time makes a 1 GiB NAR ~16k steps instead of ~260k (bench/RESULTS.md, NAR streaming).
const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 128 * 1024;

type ChunkReader = () => Promise<ReadableStreamReadResult<Uint8Array>>;

function largeChunkReader(body: ReadableStream<Uint8Array>): {
  read: ChunkReader;
  cancel: (reason: unknown) => Promise<void>;
} {
  try {
    const reader = body.getReader({ mode: "byob" });
    return {
      read: () =>
        reader.readAtLeast(MIN_CHUNK, new Uint8Array(MAX_CHUNK)) as Promise<ReadableStreamReadResult<Uint8Array>>,
      cancel: (reason) => reader.cancel(reason),
    };
  } catch {
    // Not a byte stream (a test stub's body): read it as it comes.
    const reader = body.getReader();
    return { read: () => reader.read(), cancel: (reason) => reader.cancel(reason) };
  }
}

/**
 * Passes `body` through in large chunks, failing it when no data arrives for `ms`: a stalled origin then ends the
 * transfer (and the cache writes reading it) instead of holding it open forever. `onTimeout` aborts the fetch.
 */
export function withIdleTimeout(
  body: ReadableStream<Uint8Array>,
  ms: number,
  onTimeout: () => void,
  origin = "origin",
): ReadableStream<Uint8Array> {
  const reader = largeChunkReader(body);
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
        if (value && value.byteLength > 0) controller.enqueue(value);
        if (done) controller.close();
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
