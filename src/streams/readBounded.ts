import { chunksOf } from "../origins/timeouts";

/**
 * Reads a small body whole, giving up (undefined) past `limit` bytes so a hostile origin cannot fill memory. The
 * body of an origin is already under its idle timeout (src/origins/timeouts.ts); its errors propagate. An origin's
 * body is read directly under that timeout (`chunksOf`), not through its JavaScript wrapper stream: a narinfo or
 * small NAR miss then costs no stream steps of ours (bench/RESULTS.md, closure substitution).
 */
export async function readBoundedBytes(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array | undefined> {
  const source = chunksOf(body, true);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const value = await source.read();
    if (value === undefined) break;
    total += value.byteLength;
    if (total > limit) {
      await source.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The same for a text body. */
export async function readBounded(body: ReadableStream<Uint8Array>, limit: number): Promise<string | undefined> {
  const bytes = await readBoundedBytes(body, limit);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
