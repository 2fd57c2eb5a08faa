/**
 * The one reader of an origin's body on a miss (docs/request-flow.md, "The body of a miss"): a pump that reads the
 * origin's body under its idle timeout, counts and hashes each chunk and writes the same chunk to every branch —
 * the client first, then the copies (edge cache, backfills). Unlike `ReadableStream.tee()`, it reads from the
 * origin only while every live branch has room in its window, so a slow client slows the read instead of growing
 * memory: each branch has at most one window of writes outstanding, plus the read in flight.
 *
 * Each branch is the readable side of a runtime pipe (FixedLengthStream when the length is known, otherwise
 * IdentityTransformStream) that the pump writes into: the runtime sends it to the socket or the store natively.
 * This workerd copies a chunk into its pipe when `write()` is called (test/integration/pipeWrites.test.ts), and a
 * write settles only after that; a chunk that every write (and the hash) is done with goes back to the origin reader
 * for reuse, so a transfer allocates its buffers once instead of leaving every chunk it sent to V8's next full
 * collection. Waiting for every write before reuse keeps that safe even on a runtime that did not copy.
 *
 * The last chunk is held back until the whole body is known good (length, and the sha256 when expected), so a
 * corrupt or truncated body ends every branch in an error rather than a clean end. On failure the copies fail
 * first, then `beforeClientFails` runs (it deletes the edge copy, remembers a corrupt origin), and only then the
 * client's branch fails: its retry can never meet a copy of the bad body.
 */
import { IntegrityError, type Expectation } from "../nar/verifyingStream";
import { chunksOf } from "../origins/timeouts";

/** Bytes each branch may queue ahead of its reader. */
export const WINDOW_BYTES = 8 * 1024 * 1024;

type FanOutOutcome = { kind: "passed" } | { kind: "failed"; error: unknown } | { kind: "abandoned" };

interface FanOutPlan {
  /** Number of branches; branch 0 is the client's. */
  branches: number;
  /** Bytes every branch carries, when known: its stream then has that length (what R2 and Content-Length need). */
  length?: number;
  /** Checked when the body ends (a whole file only). */
  expected?: Expectation;
  /** A byte range cut out of a whole body (an origin that ignored Range): bytes to drop, then bytes to pass. */
  cut?: { skip: number; take: number };
  window?: number;
  /** Runs after the copies' branches failed and before the client's fails. */
  beforeClientFails?: (error: unknown) => Promise<void>;
}

interface FanOut {
  branches: ReadableStream<Uint8Array>[];
  /** Settles once the body passed, failed, or every branch went away. */
  outcome: Promise<FanOutOutcome>;
  /** True only once every byte was read and checked. */
  passed(): boolean;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

interface Branch {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  alive: boolean;
  /** Bytes written to the branch and not yet taken by its reader. */
  queued: number;
}

export function fanOut(source: ReadableStream<Uint8Array>, plan: FanOutPlan): FanOut {
  const chunks = chunksOf(source);
  const window = plan.window ?? WINDOW_BYTES;
  const expected = plan.expected ?? {};
  const digest = expected.sha256 ? new crypto.DigestStream("SHA-256") : undefined;
  const hasher = digest?.getWriter();
  // Rejects when the hash is aborted (a failed body); only `end` awaits it.
  digest?.digest.catch(() => undefined);
  const readables: ReadableStream<Uint8Array>[] = [];
  const branches: Branch[] = [];
  for (let i = 0; i < plan.branches; i++) {
    const pipe = plan.length !== undefined ? new FixedLengthStream(plan.length) : new IdentityTransformStream();
    readables.push(pipe.readable);
    branches.push({ writer: pipe.writable.getWriter(), alive: true, queued: 0 });
  }
  let running = false;
  let finished = false;
  let passed = false;
  let read = 0;
  let held: Uint8Array | undefined;
  /** What still uses each buffer in flight (the pump's hold, the hash, each branch's write), by buffer. */
  const users = new Map<ArrayBufferLike, number>();
  let settle!: (outcome: FanOutOutcome) => void;
  const outcome = new Promise<FanOutOutcome>((resolve) => (settle = resolve));

  const use = (chunk: Uint8Array) => users.set(chunk.buffer, (users.get(chunk.buffer) ?? 0) + 1);
  const done = (chunk: Uint8Array) => {
    const left = users.get(chunk.buffer)! - 1;
    if (left > 0) return users.set(chunk.buffer, left);
    users.delete(chunk.buffer);
    if (!finished) chunks.recycle(chunk);
  };
  const hasRoom = () => branches.every((b) => !b.alive || b.queued < window);

  const abandon = () => {
    if (finished) return;
    // Nobody reads any more (the client left and the copies gave up): stop reading the origin.
    finished = true;
    chunks.cancel().catch(() => undefined);
    settle({ kind: "abandoned" });
  };

  /** Writes a chunk to every live branch; a branch whose reader went away is dropped. */
  const send = (chunk: Uint8Array) => {
    for (const b of branches) {
      if (!b.alive) continue;
      use(chunk);
      b.queued += chunk.byteLength;
      b.writer.write(chunk).then(
        () => {
          b.queued -= chunk.byteLength;
          done(chunk);
          kick();
        },
        () => {
          b.queued -= chunk.byteLength;
          done(chunk);
          if (finished || !b.alive) return;
          b.alive = false;
          if (branches.some((other) => other.alive)) kick();
          else abandon();
        },
      );
    }
    done(chunk);
  };

  const pass = (chunk: Uint8Array) => {
    if (chunk.byteLength === 0) return done(chunk);
    if (held) send(held);
    held = chunk;
  };

  const close = () => {
    if (held) send(held);
    held = undefined;
    finished = true;
    passed = true;
    for (const b of branches) if (b.alive) b.writer.close().catch(() => undefined);
    settle({ kind: "passed" });
  };

  const fail = async (error: unknown) => {
    if (finished) return;
    finished = true;
    held = undefined;
    chunks.cancel(error).catch(() => undefined);
    hasher?.abort(error).catch(() => undefined);
    for (const b of branches.slice(1)) if (b.alive) b.writer.abort(error).catch(() => undefined);
    await plan.beforeClientFails?.(error).catch(() => undefined);
    if (branches[0]!.alive) branches[0]!.writer.abort(error).catch(() => undefined);
    settle({ kind: "failed", error });
  };

  const end = async () => {
    if (expected.length !== undefined && read !== expected.length)
      throw new IntegrityError(`got ${read} of ${expected.length} bytes`, read > expected.length);
    if (plan.cut) throw new IntegrityError(`the body ended before the range's end (${read} bytes)`, false);
    if (hasher && digest && expected.sha256) {
      await hasher.close();
      const actual = new Uint8Array(await digest.digest);
      if (!equalBytes(actual, expected.sha256)) throw new IntegrityError("sha256 of the file differs from its URL");
    }
    close();
  };

  const run = async () => {
    running = true;
    try {
      while (!finished && hasRoom()) {
        const value = await chunks.read();
        if (finished) return;
        if (value === undefined) return await end();
        use(value);
        const start = read;
        read += value.byteLength;
        if (expected.length !== undefined && read > expected.length)
          throw new IntegrityError(`more than the expected ${expected.length} bytes`);
        if (hasher) {
          // The digest reads the chunk in place; the write is not awaited (writes run in order, and `end` awaits
          // the close after them), but the chunk is not reused before it settled.
          use(value);
          hasher.write(value).then(
            () => done(value),
            () => done(value),
          );
        }
        if (!plan.cut) {
          pass(value);
          continue;
        }
        const { skip, take } = plan.cut;
        const from = Math.max(0, skip - start);
        const to = Math.min(value.byteLength, skip + take - start);
        if (to > from) {
          const part = value.subarray(from, to);
          use(part);
          pass(part);
        }
        done(value);
        if (read >= skip + take) {
          // The range is complete: the rest of the origin's body is not wanted.
          chunks.cancel().catch(() => undefined);
          return close();
        }
      }
    } catch (e) {
      await fail(e);
    } finally {
      running = false;
    }
  };

  const kick = () => {
    if (!running && !finished) void run();
  };

  kick();
  return { branches: readables, outcome, passed: () => passed };
}
