/**
 * Checks a file against the sha256 its URL names (`nar/<nix32 sha256 of the file>.nar.<ext>`) as it streams.
 * The last chunk is held back until the digest is known: a corrupt file then ends in an error instead of its final
 * bytes, so the client sees a cut transfer (and retries), and the edge cache and R2 writes reading the same stream
 * fail rather than keep a bad copy.
 */
export class IntegrityError extends Error {
  /** `corrupt`: the bytes are wrong (hash, too many); otherwise the body was only cut short. */
  constructor(
    readonly detail: string,
    readonly corrupt = true,
  ) {
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

interface VerifiedBody {
  /** `source`, passed through as it is checked. */
  body: ReadableStream<Uint8Array>;
  /**
   * True only once every byte passed and matched. Copies made from the stream (edge cache, R2) check this when
   * their write settles and remove what they wrote otherwise: a store that keeps a body whose stream errored,
   * or an origin that broke off mid-way, must not leave a partial copy behind.
   */
  passed(): boolean;
}

/**
 * Pull-based, reading `source` directly: one JavaScript step per chunk rather than the two sides of a
 * TransformStream and the pipe between them (bench/RESULTS.md, NAR streaming).
 */
export function verifiedBody(
  source: ReadableStream<Uint8Array>,
  expected: Expectation,
  onDone?: (result: { ok: true } | { ok: false; detail: string }) => void,
): VerifiedBody {
  const reader = source.getReader();
  const digest = expected.sha256 ? new crypto.DigestStream("SHA-256") : undefined;
  const writer = digest?.getWriter();
  let held: Uint8Array | undefined;
  let seen = 0;
  let passed = false;
  const fail = (detail: string): never => {
    onDone?.({ ok: false, detail });
    const error = new IntegrityError(detail);
    reader.cancel(error).catch(() => undefined);
    throw error;
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) {
        seen += value.byteLength;
        if (expected.length !== undefined && seen > expected.length)
          fail(`more than the expected ${expected.length} bytes`);
        if (writer) await writer.write(value);
        if (held) controller.enqueue(held);
        held = value;
        return;
      }
      if (expected.length !== undefined && seen !== expected.length) fail(`got ${seen} of ${expected.length} bytes`);
      if (writer && digest && expected.sha256) {
        await writer.close();
        const actual = new Uint8Array(await digest.digest);
        if (!equalBytes(actual, expected.sha256)) fail("sha256 of the file differs from its URL");
      }
      if (held) controller.enqueue(held);
      passed = true;
      onDone?.({ ok: true });
      controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, passed: () => passed };
}
