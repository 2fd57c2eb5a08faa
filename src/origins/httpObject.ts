/** Fetching one object over HTTP, shared by upstream caches and S3: timeouts, status mapping, header picking. */
import { formatRangeHeader, parseContentRange } from "../routing/range";
import { readBounded } from "../streams/readBounded";
import { OriginTimeout, type FetchOptions, type OriginAnswer, type OriginObject } from "./origin";
import { withIdleTimeout, type Timeouts } from "./timeouts";

interface HttpObjectRequest {
  origin: string;
  url: string;
  options: FetchOptions;
  timeouts: Timeouts;
  /**
   * Whether an error status means "absent": 404 and 410 everywhere, 403 for upstream caches and S3
   * (docs/protocol.md). Given the start of the error body, so S3's 403 for a bad signature can be told apart
   * from its 403 for a missing key.
   */
  isAbsent: (status: number, errorBody: string) => boolean;
  /** Whether the error body decides anything (S3's `<Code>`); when not, it is cancelled unread. */
  readErrorBody?: boolean;
  headers?: Record<string, string>;
  /**
   * The headers to send instead of `headers` (S3 adds its SigV4 signature here). Only headers: the one Request is
   * built here, so it keeps its abort signal (the first-byte and idle timeouts) and its body handling.
   */
  sign?: (url: string, method: string, headers: Headers) => Promise<Headers>;
}

// Enough for an S3 error document's <Code>; the rest of an error body is of no use.
const ERROR_BODY_LIMIT = 4096;

function optionalNumber(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export async function fetchHttpObject(req: HttpObjectRequest): Promise<OriginAnswer> {
  const abort = new AbortController();
  let headers = new Headers(req.headers);
  if (req.options.range) headers.set("range", formatRangeHeader(req.options.range));
  if (req.sign) headers = await req.sign(req.url, req.options.method, headers);
  const request = new Request(req.url, {
    method: req.options.method,
    headers,
    signal: abort.signal,
    redirect: "follow",
    // Stored Content-Encoding (brotli/zstd .ls and logs) must pass through as the origin's bytes.
    encodeResponseBody: "manual",
  });
  let timedOut = false;
  const firstByte = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, req.timeouts.firstByteMs);
  let response: Response;
  try {
    response = await fetch(request);
  } catch (e) {
    return { kind: "failed", reason: timedOut ? "first-byte timeout" : `network: ${String(e)}`, timeout: timedOut };
  } finally {
    clearTimeout(firstByte);
  }

  const status = response.status;
  if (status === 200 || status === 206) {
    const object: OriginObject = {
      status,
      body: null,
      contentType: response.headers.get("content-type") ?? undefined,
      contentEncoding: response.headers.get("content-encoding") ?? undefined,
      etag: response.headers.get("etag") ?? undefined,
      lastModified: response.headers.get("last-modified") ?? undefined,
    };
    const length = optionalNumber(response.headers.get("content-length"));
    if (status === 206 && !req.options.range) {
      // Bytes of an unknown part of the file, as if they were all of it: never pass for the object.
      void response.body?.cancel().catch(() => undefined);
      return { kind: "failed", reason: "206 to a request without Range", timeout: false };
    }
    if (status === 206) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (!range || (length !== undefined && length !== range.length)) {
        await response.body?.cancel();
        return { kind: "failed", reason: "206 without a usable Content-Range", timeout: false };
      }
      object.offset = range.offset;
      object.length = range.length;
      object.size = range.size;
    } else {
      object.length = length;
      object.size = length;
    }
    if (req.options.method === "HEAD") {
      await response.body?.cancel();
    } else if (response.body) {
      object.body = withIdleTimeout(
        response.body,
        req.timeouts.betweenBytesMs,
        () => abort.abort(),
        req.origin,
        length,
      );
    }
    return { kind: "found", object };
  }
  let errorBody = "";
  if (response.body && req.readErrorBody && req.options.method !== "HEAD") {
    // Under the idle timeout and one idle timeout in total: an origin trickling its error body must not hold the
    // request (docs/request-flow.md, "The body of a miss").
    const body = withIdleTimeout(response.body, req.timeouts.betweenBytesMs, () => abort.abort(), req.origin);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OriginTimeout(req.origin, "between-bytes")), req.timeouts.betweenBytesMs);
    });
    try {
      errorBody = (await Promise.race([readBounded(body, ERROR_BODY_LIMIT), deadline])) ?? "";
    } catch (e) {
      abort.abort();
      void body.cancel().catch(() => undefined);
      return {
        kind: "failed",
        reason: `HTTP ${status}, error body: ${String(e)}`,
        timeout: e instanceof OriginTimeout,
      };
    } finally {
      clearTimeout(timer);
    }
  } else if (response.body) {
    void response.body.cancel().catch(() => undefined);
  }
  if (req.isAbsent(status, errorBody)) return { kind: "absent", status };
  if (status === 416) {
    const size = optionalNumber(response.headers.get("content-range")?.replace(/^bytes \*\//, "") ?? null);
    return { kind: "unsatisfiable", size };
  }
  const code = s3ErrorCode(errorBody);
  return {
    kind: "failed",
    reason: `HTTP ${status}${code ? ` ${code}` : ""}`,
    timeout: status === 504 || status === 408,
  };
}

/** The `<Code>` of an S3 error document, if the body is one. */
export function s3ErrorCode(errorBody: string): string | undefined {
  return /<Code>([^<]{1,64})<\/Code>/.exec(errorBody)?.[1];
}
