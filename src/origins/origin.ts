/** What every origin (R2, S3, an upstream HTTP cache) answers, so the chain can treat them alike. */
import type { ByteRange } from "../routing/range";

export interface FetchOptions {
  method: "GET" | "HEAD";
  range?: ByteRange;
  /**
   * The client's query string (`?hash=…`), forwarded to upstream HTTP caches only: harmonia finds NARs by it
   * (docs/request-flow.md, step 1). Buckets ignore it.
   */
  query?: string;
}

export interface OriginObject {
  status: 200 | 206;
  /** null for HEAD. */
  body: ReadableStream<Uint8Array> | null;
  /** Size of the whole object, when the origin says. */
  size?: number;
  /** Length of `body` (the range's length for a 206). */
  length?: number;
  /** For a 206: where the body starts. */
  offset?: number;
  contentType?: string;
  contentEncoding?: string;
  etag?: string;
  lastModified?: string;
}

export type OriginAnswer =
  | { kind: "found"; object: OriginObject }
  /** The origin does not have it (404, 410, S3's 403). */
  | { kind: "absent"; status: number }
  | { kind: "unsatisfiable"; size?: number }
  /** The origin could not answer (5xx, 429, timeout, network, garbage): try the next one. */
  | { kind: "failed"; reason: string; timeout: boolean };

export interface Origin {
  readonly name: string;
  readonly type: "r2" | "http" | "s3";
  fetch(key: string, options: FetchOptions): Promise<OriginAnswer>;
  /** Origins the admin worker can delete from (R2, S3): one line per key that could not be deleted. */
  deleteObjects?(keys: readonly string[]): Promise<string[]>;
}

export class OriginTimeout extends Error {
  constructor(
    readonly origin: string,
    readonly phase: "first-byte" | "between-bytes",
  ) {
    super(`${origin}: ${phase} timeout`);
  }
}
