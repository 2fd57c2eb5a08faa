/**
 * NARs, listings, logs, realisations and debuginfo: streamed from the first origin that has them, never buffered.
 * A NAR whose URL names its file hash is checked as it passes (see verifiedBody); only a full, checked copy is
 * kept in the edge cache or written back to R2. Stored Content-Encoding (brotli/zstd listings and logs) passes
 * through as stored; NARs are never re-encoded.
 */
import { log } from "../log";
import { noteOrigin, noteVerification } from "../metrics/facts";
import { FormatError } from "../narinfo/errors";
import { parseNarUrl } from "../nar/narUrl";
import { verifiedBody } from "../nar/verifyingStream";
import { withKnownLength } from "../streams/pipes";
import { backfill } from "../origins/backfill";
import { backfillTargets, fetchFromOrigins } from "../origins/chain";
import type { OriginObject } from "../origins/origin";
import { errorResponse } from "../routing/errors";
import { parseRangeHeader } from "../routing/range";
import { contentTypeOf, type Route } from "../routing/routes";
import { baseHeaders, fromEdge, lookupEdge, originsFailed, type RequestContext } from "./context";

type FileRoute = Exclude<Route, { kind: "landing" | "cache-info" | "health" | "narinfo" }>;

/** The sha256 a NAR's URL names, when it names one (`nar/<nix32 sha256 of the file>.nar.<ext>`). */
function fileHashOf(route: FileRoute): Uint8Array | undefined {
  if (route.kind !== "nar") return undefined;
  try {
    const url = parseNarUrl(route.key);
    return url.fileHash?.algo === "sha256" ? url.fileHash.bytes : undefined;
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}

/**
 * The length an edge copy must have, stored beside it: the Cache API answers with a body of its own framing and
 * drops Content-Length, so without this a hit could not tell a whole copy from one a broken write left behind.
 */
const STORED_LENGTH = "x-object-length";

function storedLength(headers: Headers): number | undefined {
  const value = headers.get(STORED_LENGTH) ?? headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

function objectHeaders(rc: RequestContext, route: FileRoute, object: OriginObject, headers: Headers): Headers {
  headers.set("content-type", contentTypeOf(route));
  headers.set("accept-ranges", "bytes");
  const ttl = route.kind === "nar" ? rc.config.ttl.nar : rc.config.ttl.file;
  headers.set("cache-control", route.kind === "nar" ? `public, max-age=${ttl}, immutable` : `public, max-age=${ttl}`);
  // A NAR is served as stored: a Content-Encoding on it would make curl decode it behind Nix's back.
  if (object.contentEncoding && object.contentEncoding !== "identity" && route.kind !== "nar") {
    headers.set("content-encoding", object.contentEncoding);
  }
  if (object.etag) headers.set("etag", object.etag);
  if (object.lastModified) headers.set("last-modified", object.lastModified);
  if (object.length !== undefined) headers.set("content-length", String(object.length));
  if (object.status === 206 && object.offset !== undefined && object.length !== undefined) {
    headers.set("content-range", `bytes ${object.offset}-${object.offset + object.length - 1}/${object.size ?? "*"}`);
  }
  return headers;
}

function withStoredLength(response: Response, length: number | undefined): Response {
  if (length !== undefined) response.headers.set(STORED_LENGTH, String(length));
  return response;
}

/**
 * A whole object from the edge cache is checked again as it streams out: its length against the Content-Length it
 * was stored with and, for a NAR whose URL names it, its sha256. A copy the Cache API kept from a write that
 * failed half-way (Miniflare does keep such truncated bodies), or one damaged at rest, is cut short and evicted,
 * so the client's retry goes to the origins. Ranges cannot be checked and are served as cached.
 */
function checkedHit(rc: RequestContext, route: FileRoute, cached: Response): Response {
  const length = storedLength(cached.headers);
  const headers = new Headers(cached.headers);
  headers.delete(STORED_LENGTH);
  if (length !== undefined) headers.set("content-length", String(length));
  if (rc.method === "HEAD" || cached.status !== 200 || !cached.body) {
    return fromEdge(rc, new Response(cached.body, { status: cached.status, headers }));
  }
  const sha256 = fileHashOf(route);
  const verifier = verifiedBody(cached.body, { sha256, length }, (outcome) => {
    noteVerification(rc.facts, !outcome.ok ? "corrupt-nar" : sha256 ? "ok" : "unverifiable", "edge");
    if (outcome.ok) return;
    log("error", "edge-copy-corrupt", { key: route.key, detail: outcome.detail });
    rc.edge.delete(route.key);
  });
  // With a known length a copy that turns out short is a cut transfer to the client, not a clean short 200.
  const body = withKnownLength(verifier.body, length);
  return fromEdge(rc, new Response(body, { status: cached.status, headers }));
}

export async function serveFile(rc: RequestContext, route: FileRoute): Promise<Response> {
  const rangeHeader = rc.request.headers.get("range");
  const range = rc.method === "GET" ? parseRangeHeader(rangeHeader) : null;
  const edge = await lookupEdge(rc, route.key, range ? rangeHeader : null);
  if (edge.kind === "blocked") return edge.response;
  if (edge.kind === "hit") return checkedHit(rc, route, edge.cached);

  const result = await fetchFromOrigins(rc.config.chain, route.key, { method: rc.method, range: range ?? undefined });
  if (result.kind === "absent") {
    return errorResponse({ kind: "not-found" }, baseHeaders(rc, "MISS", result.attempts));
  }
  if (result.kind === "unsatisfiable") {
    return errorResponse({ kind: "range-not-satisfiable", size: result.size ?? 0 }, baseHeaders(rc, "MISS", result.attempts));
  }
  if (result.kind === "failed") return originsFailed(rc, route.key, result.attempts, result.timeout);

  const { object } = result;
  noteOrigin(rc.facts, result.index, result.origin.name);
  const cacheable =
    object.status === 200 && object.length !== undefined && object.length <= rc.config.maxEdgeObjectBytes;
  const headers = objectHeaders(rc, route, object, baseHeaders(rc, cacheable ? "MISS" : "BYPASS", result.attempts));
  const init = { status: object.status, headers, encodeBody: "manual" as const };
  if (!object.body) return new Response(null, init);
  // A range is the origin's bytes for that range: nothing to check it against, and the Cache API refuses 206s.
  if (object.status === 206) return new Response(withKnownLength(object.body, object.length), init);

  const sha256 = fileHashOf(route);
  const verifier = verifiedBody(object.body, { sha256, length: object.length }, (outcome) => {
    noteVerification(rc.facts, !outcome.ok ? "corrupt-nar" : sha256 ? "ok" : "unverifiable", result.origin.name);
    if (!outcome.ok) log("error", "integrity-failed", { key: route.key, origin: result.origin.name, detail: outcome.detail });
  });
  // Length fixed before the copies split off, so each branch (and the client) keeps a known length.
  let body = withKnownLength(verifier.body, object.length);
  const copies: ((stream: ReadableStream<Uint8Array>) => void)[] = [];
  if (cacheable) {
    copies.push((stream) =>
      rc.edge.put(route.key, withStoredLength(new Response(stream, init), object.length), verifier.passed),
    );
  }
  for (const bucket of backfillTargets(rc.config.chain, result.index)) {
    copies.push((stream) =>
      rc.ctx.waitUntil(
        backfill(bucket, route.key, stream, object.length, {
          contentType: object.contentType ?? contentTypeOf(route),
          contentEncoding: route.kind === "nar" ? undefined : object.contentEncoding,
        }, verifier.passed).then((stored) => {
          if (stored) log("info", "backfilled", { key: route.key, from: result.origin.name });
        }),
      ),
    );
  }
  for (const copy of copies) {
    const [forClient, forCopy] = body.tee();
    copy(forCopy);
    body = forClient;
  }
  // Content-Length is in `headers`; workerd sends a stream body with the length it is given.
  return new Response(body, init);
}
