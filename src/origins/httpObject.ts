/** Fetching one object over HTTP, shared by upstream caches and S3: timeouts, status mapping, header picking. */
import { formatRangeHeader, parseContentRange } from "../routing/range";
import type { FetchOptions, OriginAnswer, OriginObject } from "./origin";
import { withIdleTimeout, type Timeouts } from "./timeouts";

export interface HttpObjectRequest {
  origin: string;
  url: string;
  options: FetchOptions;
  timeouts: Timeouts;
  /** Statuses that mean "absent": 404 and 410 everywhere; S3 adds 403 (NIX-PROTOCOL.md). */
  absent: ReadonlySet<number>;
  headers?: Record<string, string>;
  /** Sends the prepared request; S3 signs it here. */
  send?: (request: Request) => Promise<Response>;
}

function optionalNumber(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export async function fetchHttpObject(req: HttpObjectRequest): Promise<OriginAnswer> {
  const abort = new AbortController();
  const headers = new Headers(req.headers);
  if (req.options.range) headers.set("range", formatRangeHeader(req.options.range));
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
    response = await (req.send ?? fetch)(request);
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
      object.body = withIdleTimeout(response.body, req.timeouts.betweenBytesMs, () => abort.abort());
    }
    return { kind: "found", object };
  }
  await response.body?.cancel();
  if (req.absent.has(status)) return { kind: "absent", status };
  if (status === 416) {
    const size = optionalNumber(response.headers.get("content-range")?.replace(/^bytes \*\//, "") ?? null);
    return { kind: "unsatisfiable", size };
  }
  return { kind: "failed", reason: `HTTP ${status}`, timeout: status === 504 || status === 408 };
}
