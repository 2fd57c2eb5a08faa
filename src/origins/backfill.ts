/**
 * Writes an object found further down the origin chain into an R2 bucket, so the next miss is served from R2
 * without paying S3 egress. The stream given here is already behind the integrity check: if that check fails the
 * stream errors and the write is abandoned, leaving no object.
 */
import { log } from "../log";

// R2's single PUT takes up to ~5 GiB (docs/protocol.md, "Cloudflare facts the code relies on"); keep a margin.
export const SINGLE_PUT_LIMIT = 4 * 1024 ** 3;
// Multipart parts must all be the same size but the last; 16 MiB keeps memory low and allows 160 GB objects.
export const PART_SIZE = 16 * 1024 * 1024;

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
    // The serving path hands over a branch of a stream whose length is already fixed (withKnownLength before
    // the tee), which R2 accepts as it is; piping it into a second FixedLengthStream is not supported by workerd.
    await bucket.put(key, body, { httpMetadata });
    return;
  }
  await putMultipart(bucket, key, body, httpMetadata);
}

async function putMultipart(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  httpMetadata: R2HTTPMetadata,
): Promise<void> {
  const upload = await bucket.createMultipartUpload(key, { httpMetadata });
  const parts: R2UploadedPart[] = [];
  try {
    const buffer = new Uint8Array(PART_SIZE);
    let filled = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let offset = 0;
      while (offset < value.byteLength) {
        const take = Math.min(PART_SIZE - filled, value.byteLength - offset);
        buffer.set(value.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === PART_SIZE) {
          parts.push(await upload.uploadPart(parts.length + 1, buffer.slice()));
          filled = 0;
        }
      }
    }
    if (filled > 0 || parts.length === 0) parts.push(await upload.uploadPart(parts.length + 1, buffer.slice(0, filled)));
    await upload.complete(parts);
  } catch (e) {
    await upload.abort().catch((abortError: unknown) => log("warn", "multipart-abort-failed", { key, error: String(abortError) }));
    throw e;
  }
}
