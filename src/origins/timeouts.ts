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

// fetch() bodies arrive in ~4 KiB pieces, and every JavaScript step costs per piece: reading at least 64 KiB at a
// time makes a 1 GiB NAR ~16k steps instead of ~260k (bench/RESULTS.md, NAR streaming). The pump, which reuses its
// buffers, reads twice as much per step; a stream read whole (a narinfo) keeps the smaller buffer it allocates.
const STREAM_CHUNK = { min: 64 * 1024, max: 128 * 1024 };
const PUMP_CHUNK = { min: 128 * 1024, max: 256 * 1024 };
// The read past a body's announced end (which only finds the end): a small buffer, not a full one.
const TAIL_CHUNK = 4 * 1024;

/**
 * An origin body read chunk by chunk, each read under the idle timeout. `recycle` hands back a chunk nobody reads
 * any more, so that a later read fills the same memory instead of a fresh buffer (which V8 frees only at its next
 * full collection: bench/RESULTS.md, NAR streaming). Only chunks this source allocated are reused.
 */
interface ChunkSource {
  /** The next chunk, or undefined once the body ended. */
  read(): Promise<Uint8Array | undefined>;
  recycle(chunk: Uint8Array): void;
  cancel(reason?: unknown): Promise<void>;
}

interface Timed {
  body: ReadableStream<Uint8Array>;
  ms: number;
  onTimeout: () => void;
  origin: string;
  /** The length the origin announced (Content-Length), if any: it only sizes read buffers. */
  length?: number;
  /** Set once the wrapper stream or a ChunkSource started reading: the two never share the body. */
  claimed?: "stream" | "chunks";
}

/**
 * The bodies withIdleTimeout wrapped, by wrapper: the read path's pump (src/streams/fanOut.ts) reads the origin's
 * own body through `chunksOf` with the timeout applied there, one JavaScript step per chunk instead of two.
 */
const timedBodies = new WeakMap<ReadableStream<Uint8Array>, Timed>();

function rawChunks(t: Timed, size: { min: number; max: number }): ChunkSource {
  let byob: ReadableStreamBYOBReader | undefined;
  let plain: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    byob = t.body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (a test stub's body): read it as it comes.
    plain = t.body.getReader();
  }
  const spare: ArrayBuffer[] = [];
  let left = t.length;
  // Buffers this source filled: only those may be handed back.
  const ours = new WeakSet<ArrayBuffer>();
  const next = async (): Promise<Uint8Array | undefined> => {
    if (!byob) {
      const { done, value } = await plain!.read();
      return done ? undefined : value;
    }
    // With the length known, no buffer is larger than what is left of the body: a narinfo or a small NAR costs one
    // buffer of its size instead of two full ones, whose allocation was a tenth of a narinfo miss's CPU in the
    // isolate (bench/RESULTS.md, section 2). The length only sizes buffers: bytes past it are still read.
    const want = left === undefined ? size.max : left === 0 ? TAIL_CHUNK : Math.min(size.max, left);
    const view = new Uint8Array(want === size.max ? (spare.pop() ?? new ArrayBuffer(want)) : new ArrayBuffer(want));
    const { done, value } = (await byob.readAtLeast(
      Math.min(size.min, want),
      view,
    )) as ReadableStreamReadResult<Uint8Array>;
    if (value) {
      ours.add(value.buffer as ArrayBuffer);
      if (left !== undefined) left = Math.max(0, left - value.byteLength);
    }
    if (value && value.byteLength > 0) return value;
    if (value) spare.push(value.buffer as ArrayBuffer);
    return done ? undefined : next();
  };
  const cancel = (reason?: unknown) => {
    clearTimeout(watchdog);
    watchdog = undefined;
    return (byob ?? plain!).cancel(reason);
  };
  // One watchdog rather than a timer per read (a timer per 128 KiB was ~6 % of a NAR transfer's CPU, bench/RESULTS.md):
  // when it fires it fails the read in flight if that read has waited `ms`, and otherwise sleeps for the rest.
  let waiting: { since: number; reject: (e: unknown) => void } | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const watch = (delay: number) => {
    watchdog = setTimeout(() => {
      watchdog = undefined;
      if (!waiting) return;
      const idle = Date.now() - waiting.since;
      if (idle < t.ms) return watch(t.ms - idle);
      const error = new OriginTimeout(t.origin, "between-bytes");
      const { reject } = waiting;
      waiting = undefined;
      t.onTimeout();
      cancel(error).catch(() => undefined);
      reject(error);
    }, delay);
  };
  return {
    read() {
      return new Promise<Uint8Array | undefined>((resolve, reject) => {
        const read = { since: Date.now(), reject };
        waiting = read;
        if (!watchdog) watch(t.ms);
        next().then(
          (value) => {
            if (waiting !== read) return;
            waiting = undefined;
            if (value === undefined) clearTimeout(watchdog);
            resolve(value);
          },
          (e: unknown) => {
            if (waiting === read) waiting = undefined;
            reject(e);
          },
        );
      });
    },
    recycle(chunk) {
      const buffer = chunk.buffer as ArrayBuffer;
      if (ours.has(buffer) && buffer.byteLength === size.max) {
        ours.delete(buffer);
        spare.push(buffer);
      }
    },
    cancel,
  };
}

/**
 * The chunks of `body`. A body from withIdleTimeout that nobody read yet is read directly, under its timeout;
 * any other stream is read as it is (its own wrapper, if any, applies the timeout). `whole`: the body is read
 * into one buffer (src/streams/readBounded.ts), so its chunks are not kept for reuse and need not be large.
 */
export function chunksOf(body: ReadableStream<Uint8Array>, whole = false): ChunkSource {
  const t = timedBodies.get(body);
  if (t && !t.claimed) {
    t.claimed = "chunks";
    return rawChunks(t, whole ? STREAM_CHUNK : PUMP_CHUNK);
  }
  const reader = body.getReader();
  return {
    read: async () => {
      const { done, value } = await reader.read();
      return done ? undefined : value;
    },
    recycle: () => undefined,
    cancel: (reason) => reader.cancel(reason),
  };
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
  const t: Timed = { body, ms, onTimeout, origin, length };
  let chunks: ChunkSource | undefined;
  const claim = () => {
    if (t.claimed === "chunks") throw new TypeError("the body is already being read");
    t.claimed = "stream";
    return (chunks ??= rawChunks(t, STREAM_CHUNK));
  };
  // Pull-based rather than pipeThrough: a consumer that errors (the integrity check) cancels this stream,
  // which cancels the origin's body without leaving a rejected pipe behind. No high-water mark: nothing is read
  // before someone asks, so chunksOf can still take the body over.
  const wrapper = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const value = await claim().read();
        if (value) controller.enqueue(value);
        else controller.close();
      },
      cancel(reason) {
        if (t.claimed === "chunks") return;
        return claim().cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  timedBodies.set(wrapper, t);
  return wrapper;
}
