/**
 * Content-Encoding of what an origin sends (docs/request-flow.md, "Content-Encoding"). Nix can store narinfos,
 * listings and logs compressed (`narinfo-compression`, `ls-compression`, `log-compression`) with a
 * Content-Encoding; every Nix decodes them, and so must the worker before it parses or checks anything. Bodies
 * arrive as sent (R2 as stored; fetches with `encodeResponseBody: "manual"`), so decoding is done here, with what
 * the runtime has: gzip and deflate.
 */
const DECODABLE: Record<string, "gzip" | "deflate"> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" };

/** Whether a Content-Encoding value means the bytes are as they are. */
export function isIdentity(encoding: string | undefined): boolean {
  return encoding === undefined || encoding.trim() === "" || encoding.trim().toLowerCase() === "identity";
}

/** The decoded body, or undefined when the runtime cannot decode `encoding` (xz, bzip2, br, zstd, several). */
export function decodedBody(
  body: ReadableStream<Uint8Array>,
  encoding: string | undefined,
): ReadableStream<Uint8Array> | undefined {
  if (isIdentity(encoding)) return body;
  const format = DECODABLE[encoding!.trim().toLowerCase()];
  if (!format) return undefined;
  return body.pipeThrough(new DecompressionStream(format)) as ReadableStream<Uint8Array>;
}
