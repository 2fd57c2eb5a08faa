/** An R2 bucket bound to the worker. Reads go through the binding: no signing, no egress. */
import { resolveRange } from "../routing/range";
import type { FetchOptions, Origin, OriginAnswer, OriginObject } from "./origin";
import { DEFAULT_TIMEOUTS, withIdleTimeout } from "./timeouts";

function describe(object: R2Object): Omit<OriginObject, "status" | "body"> {
  return {
    size: object.size,
    length: object.size,
    contentType: object.httpMetadata?.contentType,
    contentEncoding: object.httpMetadata?.contentEncoding,
    etag: object.httpEtag,
    lastModified: object.uploaded.toUTCString(),
  };
}

export class R2Origin implements Origin {
  readonly type = "r2";

  constructor(
    readonly name: string,
    readonly bucket: R2Bucket,
  ) {}

  /** R2 bodies are read under the same idle timeout as any origin's (docs/request-flow.md, "The body of a miss"). */
  private timed(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    return withIdleTimeout(body, DEFAULT_TIMEOUTS.betweenBytesMs, () => undefined, this.name);
  }

  /** Deletes objects (the admin worker's POST /v1/delete); one line per key that could not be deleted. */
  async deleteObjects(keys: readonly string[]): Promise<string[]> {
    try {
      await this.bucket.delete([...keys]);
      return [];
    } catch (e) {
      return keys.map((key) => `${key}: r2: ${String(e)}`);
    }
  }

  async fetch(key: string, options: FetchOptions): Promise<OriginAnswer> {
    try {
      if (options.method === "HEAD" || options.range) {
        const head = await this.bucket.head(key);
        if (!head) return { kind: "absent", status: 404 };
        if (options.method === "HEAD") return { kind: "found", object: { status: 200, body: null, ...describe(head) } };
        // R2 rejects a range past the end instead of clamping it (RFC 9110 clamps), so resolve it first.
        const range = resolveRange(options.range!, head.size);
        if (!range) return { kind: "unsatisfiable", size: head.size };
        const object = await this.bucket.get(key, { range: { offset: range.offset, length: range.length } });
        if (!object) return { kind: "absent", status: 404 };
        return {
          kind: "found",
          object: {
            ...describe(object),
            status: 206,
            body: this.timed(object.body),
            offset: range.offset,
            length: range.length,
          },
        };
      }
      const object = await this.bucket.get(key);
      if (!object) return { kind: "absent", status: 404 };
      return { kind: "found", object: { status: 200, body: this.timed(object.body), ...describe(object) } };
    } catch (e) {
      return { kind: "failed", reason: `r2: ${String(e)}`, timeout: false };
    }
  }
}
