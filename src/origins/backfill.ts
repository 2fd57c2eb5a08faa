/**
 * Writes an object found further down the origin chain into an R2 bucket, so the next miss is served from R2
 * without paying S3 egress. The stream given here is already behind the integrity check: if that check fails the
 * stream errors and the write is abandoned, leaving no object.
 */
import { log } from "../log";

// R2's single PUT takes up to ~5 GiB (docs/protocol.md, "Cloudflare facts the code relies on"); keep a margin.
export const SINGLE_PUT_LIMIT = 4 * 1024 ** 3;
// Multipart parts must all be the same size but the last (and at least 5 MiB); 8 MiB allows 80 GB objects and,
// with the pump's 8 MiB window, keeps a request within 16 MiB (docs/request-flow.md, "The body of a miss").
export const PART_SIZE = 8 * 1024 * 1024;

export interface ObjectMetadata {
  contentType?: string;
  contentEncoding?: string;
}

/**
 * Backfills one object; resolves to whether it was stored. `complete` is asked after the write, as for the edge
 * cache: an object whose stream did not pass its checks is deleted if R2 kept it.
 */
export async function backfill(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number | undefined,
  metadata: ObjectMetadata,
  complete: () => boolean,
): Promise<boolean> {
  let stored = false;
  try {
    await putStream(bucket, key, body, length, metadata);
    stored = true;
  } catch (e) {
    log("warn", "backfill-failed", { key, error: String(e) });
  }
  if (stored && complete()) return true;
  if (stored) await bucket.delete(key).catch(() => undefined);
  return false;
}

export async function putStream(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number | undefined,
  metadata: ObjectMetadata,
): Promise<void> {
  const httpMetadata = { contentType: metadata.contentType, contentEncoding: metadata.contentEncoding };
  if (length !== undefined && length <= SINGLE_PUT_LIMIT) {
    // The serving path hands over a pump branch whose length is already fixed (withKnownLength), which R2
    // accepts as it is; piping it into a second FixedLengthStream is not supported by workerd.
    await bucket.put(key, body, { httpMetadata });
    return;
  }
  await putMultipart(bucket, key, body, httpMetadata);
}

/** Concatenates chunks (at most one part's worth) into one buffer. */
function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.byteLength === total) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * An object of unknown length (or over the single-PUT limit): chunks are gathered up to one part. If the body
 * ends first, which is the usual case for a listing or log without Content-Length, it is one plain PUT of what
 * was read; otherwise a multipart upload is started and fed one part at a time. Memory: one part, never more.
 */
async function putMultipart(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  httpMetadata: R2HTTPMetadata,
): Promise<void> {
  const reader = body.getReader();
  let chunks: Uint8Array[] = [];
  let filled = 0;
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  const flushPart = async (bytes: Uint8Array) => {
    upload ??= await bucket.createMultipartUpload(key, { httpMetadata });
    parts.push(await upload.uploadPart(parts.length + 1, bytes));
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let offset = 0;
      while (offset < value.byteLength) {
        const take = Math.min(PART_SIZE - filled, value.byteLength - offset);
        chunks.push(value.subarray(offset, offset + take));
        filled += take;
        offset += take;
        if (filled === PART_SIZE) {
          await flushPart(concat(chunks, filled));
          chunks = [];
          filled = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, concat(chunks, filled), { httpMetadata });
      return;
    }
    if (filled > 0) await flushPart(concat(chunks, filled));
    await upload.complete(parts);
  } catch (e) {
    await upload
      ?.abort()
      .catch((abortError: unknown) => log("warn", "multipart-abort-failed", { key, error: String(abortError) }));
    throw e;
  }
}
