/**
 * Checks a file against the sha256 its URL names (`nar/<nix32 sha256 of the file>.nar.<ext>`) as it streams.
 * The last chunk is held back until the digest is known: a corrupt file then ends in an error instead of its final
 * bytes, so the client sees a cut transfer (and retries), and the edge cache and R2 writes reading the same stream
 * fail rather than keep a bad copy.
 */
export class IntegrityError extends Error {
  constructor(readonly detail: string) {
    super(`integrity check failed: ${detail}`);
  }
}

export interface Expectation {
  sha256?: Uint8Array;
  length?: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export interface VerifyingStream {
  stream: TransformStream<Uint8Array, Uint8Array>;
  /**
   * True only once every byte passed and matched. Copies made from the stream (edge cache, R2) check this when
   * their write settles and remove what they wrote otherwise: a store that keeps a body whose stream errored,
   * or an origin that broke off mid-way, must not leave a partial copy behind.
   */
  passed(): boolean;
}

export function verifyingStream(
  expected: Expectation,
  onDone?: (result: { ok: true } | { ok: false; detail: string }) => void,
): VerifyingStream {
  const digest = expected.sha256 ? new crypto.DigestStream("SHA-256") : undefined;
  const writer = digest?.getWriter();
  let held: Uint8Array | undefined;
  let seen = 0;
  let passed = false;
  // Thrown, not passed to controller.error(): the stream machinery then owns the rejection.
  const fail = (detail: string): never => {
    onDone?.({ ok: false, detail });
    throw new IntegrityError(detail);
  };
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      seen += chunk.byteLength;
      if (expected.length !== undefined && seen > expected.length) {
        fail(`more than the expected ${expected.length} bytes`);
      }
      if (writer) await writer.write(chunk);
      if (held) controller.enqueue(held);
      held = chunk;
    },
    async flush(controller) {
      if (expected.length !== undefined && seen !== expected.length) {
        fail(`got ${seen} of ${expected.length} bytes`);
      }
      if (writer && digest && expected.sha256) {
        await writer.close();
        const actual = new Uint8Array(await digest.digest);
        if (!equalBytes(actual, expected.sha256)) fail("sha256 of the file differs from its URL");
      }
      if (held) controller.enqueue(held);
      passed = true;
      onDone?.({ ok: true });
    },
  });
  return { stream, passed: () => passed };
}
