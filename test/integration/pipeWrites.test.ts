/**
 * The runtime guarantee the read path's pump relies on when it reuses chunk buffers (src/streams/fanOut.ts,
 * docs/request-flow.md "Chunk buffers are reused"): once a write into a runtime pipe (FixedLengthStream,
 * IdentityTransformStream) has settled, the runtime never reads that chunk's memory again. Hostile on purpose: a
 * small pool of buffers is written to several pipes at once, and each buffer is overwritten with a poison pattern
 * the moment every write of it settled, then refilled with later bytes. Any byte a sink read late shows up as a
 * wrong byte in the client's copy (a slow JavaScript reader), the Cache API's copy or R2's copy.
 */
import { describe, expect, it } from "vitest";
import { bucket } from "./harness";

const POISON = 0xa5;
/** The Cache API keeps only responses that say they may be cached. */
const CACHEABLE = { "cache-control": "public, max-age=3600" };

function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // Not periodic in the chunk size, so a chunk delivered in place of another one differs too.
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 11) * 7 + 1) & 0xff || 1;
  return bytes;
}

/**
 * Writes `bytes` in chunks of `chunk` bytes to every writer, from `pool` reused buffers: a buffer goes back to the
 * pool (poisoned) only once every write of it settled, as the pump does.
 */
async function writeReusing(writers: WritableStreamDefaultWriter<Uint8Array>[], bytes: Uint8Array, chunk: number) {
  type Buffer = Uint8Array<ArrayBuffer>;
  const pool: Buffer[] = Array.from({ length: 3 }, () => new Uint8Array(chunk));
  const waiting: ((buffer: Buffer) => void)[] = [];
  const take = () => (pool.length ? Promise.resolve(pool.pop()!) : new Promise<Buffer>((r) => waiting.push(r)));
  const give = (buffer: Buffer) => {
    buffer.fill(POISON);
    const next = waiting.shift();
    if (next) next(buffer);
    else pool.push(buffer);
  };
  const writes: Promise<unknown>[] = [];
  let reused = 0;
  for (let offset = 0; offset < bytes.byteLength; offset += chunk) {
    const buffer = await take();
    if (buffer[0] === POISON) reused++;
    const n = Math.min(chunk, bytes.byteLength - offset);
    buffer.set(bytes.subarray(offset, offset + n));
    const view = buffer.subarray(0, n);
    const all = Promise.all(writers.map((w) => w.write(view)));
    writes.push(all);
    void all.then(() => give(buffer));
  }
  await Promise.all(writes);
  await Promise.all(writers.map((w) => w.close()));
  return reused;
}

/** Reads a stream to the end in small steps with pauses, so writes wait on it. */
async function slowRead(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const reader = stream.getReader({ mode: "byob" });
  const got = new Uint8Array(size + 1);
  let offset = 0;
  for (let step = 0; ; step++) {
    const { done, value } = await reader.read(new Uint8Array(Math.min(20_000, size + 1 - offset) || 1));
    if (done) break;
    got.set(value, offset);
    offset += value.byteLength;
    if (step % 8 === 0) await scheduler.wait(2);
  }
  return got.subarray(0, offset);
}

function sameBytes(a: Uint8Array, b: Uint8Array): { length: number; firstDiff: number; poisoned: number } {
  let firstDiff = -1;
  let poisoned = 0;
  for (let i = 0; i < Math.min(a.byteLength, b.byteLength); i++) {
    if (a[i] !== b[i]) {
      if (firstDiff < 0) firstDiff = i;
      if (a[i] === POISON) poisoned++;
    }
  }
  return { length: a.byteLength, firstDiff, poisoned };
}

describe("a settled write into a runtime pipe no longer reads the chunk's memory", { timeout: 60_000 }, () => {
  const size = 3 * 1024 * 1024 + 12_345;
  /** What sameBytes reports for a copy with every byte right. */
  const intact = { length: size, firstDiff: -1, poisoned: 0 };
  const chunk = 65_537;

  it("FixedLengthStream: a slow client reader, a Cache API put and an R2 put all get every byte right", async () => {
    const bytes = pattern(size);
    const pipes = Array.from({ length: 3 }, () => new FixedLengthStream(size));
    const key = "pipe-writes/fixed";
    const url = `https://pipe-writes.test/${key}`;
    const client = slowRead(pipes[0]!.readable, size);
    const cached = caches.default.put(url, new Response(pipes[1]!.readable, { headers: CACHEABLE }));
    const stored = bucket().put(key, pipes[2]!.readable);
    const reused = await writeReusing(
      pipes.map((p) => p.writable.getWriter()),
      bytes,
      chunk,
    );
    // The pool was reused: most chunks were written from a buffer that was poisoned before.
    expect(reused).toBeGreaterThan(40);
    await Promise.all([cached, stored]);
    expect(sameBytes(await client, bytes)).toEqual(intact);
    const hit = await caches.default.match(url);
    expect(sameBytes(new Uint8Array(await hit!.arrayBuffer()), bytes)).toEqual(intact);
    const object = await bucket().get(key);
    expect(sameBytes(new Uint8Array(await object!.arrayBuffer()), bytes)).toEqual(intact);
    await bucket().delete(key);
    await caches.default.delete(url);
  });

  it("IdentityTransformStream (unknown length): a slow client reader and a Cache API put get every byte", async () => {
    const bytes = pattern(size);
    const pipes = Array.from({ length: 2 }, () => new IdentityTransformStream());
    const url = "https://pipe-writes.test/identity";
    const client = slowRead(pipes[0]!.readable, size);
    const cached = caches.default.put(url, new Response(pipes[1]!.readable, { headers: CACHEABLE }));
    const reused = await writeReusing(
      pipes.map((p) => p.writable.getWriter()),
      bytes,
      chunk,
    );
    expect(reused).toBeGreaterThan(40);
    await cached;
    expect(sameBytes(await client, bytes)).toEqual(intact);
    const hit = await caches.default.match(url);
    expect(sameBytes(new Uint8Array(await hit!.arrayBuffer()), bytes)).toEqual(intact);
    await caches.default.delete(url);
  });
});
