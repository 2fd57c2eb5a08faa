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
// The read past a body's announced end (which only finds the end): a small buffer, not a 128 KiB one.
const TAIL_CHUNK = 4 * 1024;

type ChunkReader = () => Promise<ReadableStreamReadResult<Uint8Array>>;

function largeChunkReader(
  body: ReadableStream<Uint8Array>,
  length?: number,
): {
  read: ChunkReader;
  cancel: (reason: unknown) => Promise<void>;
} {
  try {
    const reader = body.getReader({ mode: "byob" });
    // With the length known, no buffer is larger than what is left of the body: a narinfo or a small NAR costs one
    // buffer of its size instead of two fresh 128 KiB ones, whose allocation was a tenth of a narinfo miss's CPU in
    // the isolate (bench/RESULTS.md, section 2). The length only sizes buffers: bytes past it are still read.
    let left = length;
    return {
      read: async () => {
        const size = left === undefined ? MAX_CHUNK : left === 0 ? TAIL_CHUNK : Math.min(MAX_CHUNK, left);
        const result = (await reader.readAtLeast(
          Math.min(MIN_CHUNK, size),
          new Uint8Array(size),
        )) as ReadableStreamReadResult<Uint8Array>;
        if (left !== undefined && result.value) left = Math.max(0, left - result.value.byteLength);
        return result;
      },
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
 * `length`, when the origin announced one (Content-Length), sizes the read buffers.
 */
export function withIdleTimeout(
  body: ReadableStream<Uint8Array>,
  ms: number,
  onTimeout: () => void,
  origin = "origin",
  length?: number,
): ReadableStream<Uint8Array> {
  const reader = largeChunkReader(body, length);
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
