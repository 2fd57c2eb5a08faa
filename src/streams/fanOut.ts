/**
 * The one reader of an origin's body on a miss (docs/request-flow.md, "The body of a miss"): a pull-based pump that
 * counts and hashes each chunk as it reads it and hands the same chunk to every branch — the client first, then
 * the copies (edge cache, backfills). Unlike `ReadableStream.tee()`, it reads from the origin only while every
 * live branch has room in its window, so a slow client slows the read instead of growing memory: a request holds at
 * most one window of chunks (they are shared, not copied) plus the read in flight.
 *
 * The last chunk is held back until the whole body is known good (length, and the sha256 when expected), so a
 * corrupt or truncated body ends every branch in an error rather than a clean end. On failure the copies fail
 * first, then `beforeClientFails` runs (it deletes the edge copy, remembers a corrupt origin), and only then the
 * client's branch fails: its retry can never meet a copy of the bad body.
 */
import { IntegrityError, type Expectation } from "../nar/verifyingStream";

/** Bytes each branch may queue ahead of its reader. */
export const WINDOW_BYTES = 8 * 1024 * 1024;

type FanOutOutcome = { kind: "passed" } | { kind: "failed"; error: unknown } | { kind: "abandoned" };

interface FanOutPlan {
  /** Number of branches; branch 0 is the client's. */
  branches: number;
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
  controller: ReadableStreamDefaultController<Uint8Array>;
  alive: boolean;
}

export function fanOut(source: ReadableStream<Uint8Array>, plan: FanOutPlan): FanOut {
  const reader = source.getReader();
  const window = plan.window ?? WINDOW_BYTES;
  const expected = plan.expected ?? {};
  const digest = expected.sha256 ? new crypto.DigestStream("SHA-256") : undefined;
  const writer = digest?.getWriter();
  const branches: Branch[] = [];
  let running = false;
  let finished = false;
  let passed = false;
  let read = 0;
  let held: Uint8Array | undefined;
  let settle!: (outcome: FanOutOutcome) => void;
  const outcome = new Promise<FanOutOutcome>((resolve) => (settle = resolve));

  const live = () => branches.filter((b) => b.alive);
  const hasRoom = () => branches.every((b) => !b.alive || (b.controller.desiredSize ?? 0) > 0);
  const pass = (chunk: Uint8Array) => {
    if (chunk.byteLength === 0) return;
    if (held) for (const b of live()) b.controller.enqueue(held);
    held = chunk;
  };

  const close = () => {
    if (held) for (const b of live()) b.controller.enqueue(held);
    held = undefined;
    finished = true;
    passed = true;
    for (const b of live()) b.controller.close();
    settle({ kind: "passed" });
  };

  const fail = async (error: unknown) => {
    if (finished) return;
    finished = true;
    held = undefined;
    reader.cancel(error).catch(() => undefined);
    branches.slice(1).forEach((b) => b.alive && b.controller.error(error));
    await plan.beforeClientFails?.(error).catch(() => undefined);
    if (branches[0]?.alive) branches[0].controller.error(error);
    settle({ kind: "failed", error });
  };

  const end = async () => {
    if (expected.length !== undefined && read !== expected.length)
      throw new IntegrityError(`got ${read} of ${expected.length} bytes`, read > expected.length);
    if (plan.cut) throw new IntegrityError(`the body ended before the range's end (${read} bytes)`, false);
    if (writer && digest && expected.sha256) {
      await writer.close();
      const actual = new Uint8Array(await digest.digest);
      if (!equalBytes(actual, expected.sha256)) throw new IntegrityError("sha256 of the file differs from its URL");
    }
    close();
  };

  const run = async () => {
    running = true;
    try {
      while (!finished && live().length > 0 && hasRoom()) {
        const { done, value } = await reader.read();
        if (finished) return;
        if (done) return await end();
        const start = read;
        read += value.byteLength;
        if (expected.length !== undefined && read > expected.length)
          throw new IntegrityError(`more than the expected ${expected.length} bytes`);
        if (writer) await writer.write(value);
        if (!plan.cut) {
          pass(value);
          continue;
        }
        const { skip, take } = plan.cut;
        const from = Math.max(0, skip - start);
        const to = Math.min(value.byteLength, skip + take - start);
        if (to > from) pass(value.subarray(from, to));
        if (read >= skip + take) {
          // The range is complete: the rest of the origin's body is not wanted.
          reader.cancel().catch(() => undefined);
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

  const streams = Array.from({ length: plan.branches }, () => {
    let branch!: Branch;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          branch = { controller, alive: true };
          branches.push(branch);
        },
        // Resolves at once: the pump fills the branch when every branch has room, and a pending read is answered
        // by that enqueue. A full sibling kicks the pump again when its reader drains it.
        pull: kick,
        cancel() {
          branch.alive = false;
          if (live().length > 0) return kick();
          if (finished) return;
          // Nobody reads any more (the client left and the copies gave up): stop reading the origin.
          finished = true;
          reader.cancel().catch(() => undefined);
          settle({ kind: "abandoned" });
        },
      },
      { highWaterMark: window, size: (chunk) => chunk.byteLength },
    );
    return stream;
  });
  return { branches: streams, outcome, passed: () => passed };
}
