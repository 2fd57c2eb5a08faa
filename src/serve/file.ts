/**
 * NARs, listings, logs, realisations and debuginfo (docs/request-flow.md, "The body of a miss"). A small NAR whose
 * URL names its file hash is read whole and checked before anything is sent, so a corrupt copy makes the next
 * origin answer within the same request; every other body goes through the one pump of src/streams/fanOut.ts,
 * which bounds memory by a window, checks what can be checked and feeds the copies. Only a full, checked copy is
 * kept in the edge cache or written back to R2. Range requests on a miss get exactly the asked bytes, whatever the
 * origin does. Stored Content-Encoding (brotli/zstd listings and logs) passes through as stored; NARs are never
 * re-encoded.
 */
import { log } from "../log";
import { noteOrigin, noteVerification } from "../metrics/facts";
import { FormatError } from "../narinfo/errors";
import { parseNarUrl } from "../nar/narUrl";
import { IntegrityError, verifiedBody } from "../nar/verifyingStream";
import { CORRUPT_MEMO_SECONDS } from "../edge/edgeCache";
import { fanOut } from "../streams/fanOut";
import { withKnownLength } from "../streams/pipes";
import { readBoundedBytes } from "../streams/readBounded";
import { backfill } from "../origins/backfill";
import { decodedBody, isIdentity } from "../origins/contentEncoding";
import { backfillTargets, fetchFromOrigins, type Acceptor, type Attempt, type ChainLink } from "../origins/chain";
import type { Origin, OriginObject } from "../origins/origin";
import { errorResponse } from "../routing/errors";
import { parseRangeHeader, resolveRange, type ByteRange, type ResolvedRange } from "../routing/range";
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
/** When the write of an edge copy began (ms), to tell copies begun before a failed transfer (FailedTransfers). */
const STORED_AT = "x-stored-at";
/** "sha256" when the copy was checked against the hash its name says, "none" when it could not be (opaque names). */
const STORED_CHECK = "x-object-check";

function storeHeaders(headers: Headers, length: number | undefined, checked: boolean): Headers {
  const stored = sized(headers, length);
  if (length !== undefined) stored.set(STORED_LENGTH, String(length));
  stored.set(STORED_AT, String(Date.now()));
  stored.set(STORED_CHECK, checked ? "sha256" : "none");
  return stored;
}

/** A copy whose write began before a transfer of the same file failed may be that transfer's broken copy. */
function suspect(cached: Response, failedAt: number | undefined): boolean {
  if (failedAt === undefined) return false;
  const at = Number(cached.headers.get(STORED_AT));
  return !Number.isFinite(at) || at <= failedAt;
}

function storedLength(headers: Headers): number | undefined {
  const value = headers.get(STORED_LENGTH) ?? headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Headers of a file's answer, without its length and range (those depend on what is sent). Only a NAR checked
 * against the hash its name says is kept for NAR_TTL as immutable; anything the worker could not verify is kept
 * at most NARINFO_TTL (docs/request-flow.md, step 9).
 */
function objectHeaders(
  rc: RequestContext,
  route: FileRoute,
  object: OriginObject,
  headers: Headers,
  verified: boolean,
): Headers {
  headers.set("content-type", contentTypeOf(route));
  headers.set("accept-ranges", "bytes");
  const immutable = route.kind === "nar" && verified;
  const ttl = immutable ? rc.config.ttl.nar : rc.config.ttl.narinfo;
  headers.set("cache-control", immutable ? `public, max-age=${ttl}, immutable` : `public, max-age=${ttl}`);
  // A NAR is served as stored: a Content-Encoding on it would make curl decode it behind Nix's back.
  if (object.contentEncoding && object.contentEncoding !== "identity" && route.kind !== "nar") {
    headers.set("content-encoding", object.contentEncoding);
  }
  if (object.etag) headers.set("etag", object.etag);
  if (object.lastModified) headers.set("last-modified", object.lastModified);
  return headers;
}

function sized(headers: Headers, length: number | undefined, range?: { offset: number; size?: number }): Headers {
  const out = new Headers(headers);
  if (length !== undefined) out.set("content-length", String(length));
  if (range && length !== undefined) {
    out.set("content-range", `bytes ${range.offset}-${range.offset + length - 1}/${range.size ?? "*"}`);
  }
  return out;
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
  headers.delete(STORED_AT);
  const checked = cached.headers.get(STORED_CHECK) !== "none";
  headers.delete(STORED_CHECK);
  if (length !== undefined) headers.set("content-length", String(length));
  if (rc.method === "HEAD" || cached.status !== 200 || !cached.body) {
    return fromEdge(rc, new Response(cached.body, { status: cached.status, headers }));
  }
  const sha256 = checked ? fileHashOf(route) : undefined;
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

/**
 * What to send once an origin's answer was accepted: bytes already checked (a small hash-named NAR), a stream for
 * the pump, or a 416 (an origin that ignored Range has fewer bytes than asked).
 */
type Plan =
  | { kind: "verified"; bytes: Uint8Array; range?: ResolvedRange }
  | {
      kind: "stream";
      status: 200 | 206;
      /** Whether the bytes sent are the whole file: only then can they be checked and kept. */
      whole: boolean;
      offset: number;
      length?: number;
      size?: number;
      cut?: { skip: number; take: number };
      /** The hash the whole file is checked against, when the origin names NARs by it. */
      sha256?: Uint8Array;
    }
  | { kind: "unsatisfiable"; size: number };

type Corrupt = { ok: false; failed: true; reason: string };

/**
 * Puts last an origin that served this file corrupt lately, here or in another isolate (edgeCache.failedTransfers):
 * the other origins answer first, and the origin is still asked when none of them has the file (it may be fixed).
 */
function corruptLast(key: string, elsewhere: Set<string>) {
  return (link: ChainLink): string | undefined => {
    const until = link.corrupt.get(key);
    if (until !== undefined && until > Date.now()) return "served this file corrupt";
    if (until !== undefined) link.corrupt.delete(key);
    return elsewhere.has(link.origin.name) ? "served this file corrupt (marker)" : undefined;
  };
}

function linkOf(rc: RequestContext, origin: Origin): ChainLink | undefined {
  return rc.config.chain.find((l) => l.origin === origin);
}

/**
 * The backfilled R2 buckets ahead of the origin that had the file, when the file may be copied there: always when
 * the worker checked it, otherwise only from an origin marked `trusted` (docs/configuration.md).
 */
function copyTargets(rc: RequestContext, index: number, verified: boolean): R2Bucket[] {
  if (!verified && !rc.config.chain[index]!.trusted) return [];
  return backfillTargets(rc.config.chain, index);
}

function rememberCorrupt(rc: RequestContext, key: string, origin: Origin, copyFailed: boolean): Promise<void> {
  linkOf(rc, origin)?.corrupt.set(key, Date.now() + CORRUPT_MEMO_SECONDS * 1000);
  return rc.edge.markFailed(key, { corruptOrigin: origin.name, copyFailed });
}

async function sha256Of(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * Reads a small hash-named NAR whole and checks it. A mismatch is a failed origin (counted by its breaker) so the
 * chain asks the next one; it is also remembered, so that no later request asks this origin for the file.
 */
async function verifyWhole(
  rc: RequestContext,
  route: FileRoute,
  origin: Origin,
  body: ReadableStream<Uint8Array>,
  length: number,
  sha256: Uint8Array,
): Promise<Uint8Array | Corrupt> {
  const bytes = await readBoundedBytes(body, length);
  let detail: string | undefined;
  if (bytes === undefined) detail = `more than the expected ${length} bytes`;
  else if (bytes.byteLength !== length) detail = `got ${bytes.byteLength} of ${length} bytes`;
  else {
    const actual = await sha256Of(bytes);
    if (actual.length !== sha256.length || actual.some((b, i) => b !== sha256[i]))
      detail = "sha256 of the file differs from its URL";
  }
  noteVerification(rc.facts, detail === undefined ? "ok" : "corrupt-nar", origin.name);
  if (detail === undefined) return bytes!;
  log("error", "integrity-failed", { key: route.key, origin: origin.name, detail, sent: false });
  rc.ctx.waitUntil(rememberCorrupt(rc, route.key, origin, false));
  return { ok: false, failed: true, reason: `corrupt: ${detail}` };
}

/** Decides what to send from an origin's answer to a GET; may read (and check) a small NAR whole. */
function acceptFile(
  rc: RequestContext,
  route: FileRoute,
  routeSha: Uint8Array | undefined,
  asked: ByteRange | undefined,
  wholeRange: boolean,
): Acceptor<Plan> {
  return async (object, origin) => {
    // Where a NAR's name is its file hash is a property of the origin (docs/configuration.md, `narNames`).
    const sha256 = linkOf(rc, origin)?.narNames === "opaque" ? undefined : routeSha;
    const small = (length: number | undefined): length is number =>
      sha256 !== undefined && length !== undefined && length <= rc.config.verifyBeforeSendMaxBytes;
    if (!object.body) return { ok: false, reason: "no body", failed: true };
    if (route.kind === "nar" && !isIdentity(object.contentEncoding)) {
      // A NAR reaches the client exactly as the narinfo describes it: an origin that encoded it on the way (despite
      // `accept-encoding: identity`) is decoded, or failed when the runtime cannot decode it.
      const decoded = object.status === 200 ? decodedBody(object.body, object.contentEncoding) : undefined;
      if (!decoded)
        return { ok: false, failed: true, reason: `NAR sent with Content-Encoding ${object.contentEncoding}` };
      Object.assign(object, { body: decoded, length: undefined, size: undefined, contentEncoding: undefined });
    }
    const body = object.body!;
    if (object.status === 206) {
      // Only asked ranges get here (an unasked 206 is a failed origin, src/origins/httpObject.ts).
      const want = asked && object.size !== undefined ? resolveRange(asked, object.size) : undefined;
      const matches = want
        ? want.offset === object.offset && want.length === object.length
        : asked !== undefined && !("suffix" in asked) && asked.offset === object.offset;
      if (!matches) return { ok: false, failed: true, reason: "206 with a Content-Range other than the one asked for" };
      const whole = object.offset === 0 && object.size !== undefined && object.length === object.size;
      if (whole && small(object.length)) {
        const bytes = await verifyWhole(rc, route, origin, body, object.length, sha256!);
        return bytes instanceof Uint8Array
          ? { ok: true, value: { kind: "verified", bytes, range: want ?? undefined } }
          : bytes;
      }
      return {
        ok: true,
        value: {
          kind: "stream",
          status: 206,
          whole,
          offset: object.offset ?? 0,
          length: object.length,
          size: object.size,
          sha256,
        },
      };
    }
    const length = object.length;
    if (!asked) {
      if (small(length)) {
        const bytes = await verifyWhole(rc, route, origin, body, length, sha256!);
        if (!(bytes instanceof Uint8Array)) return bytes;
        return { ok: true, value: { kind: "verified", bytes, range: wholeRange ? { offset: 0, length } : undefined } };
      }
      const status = wholeRange && length !== undefined ? 206 : 200;
      return { ok: true, value: { kind: "stream", status, whole: true, offset: 0, length, size: length, sha256 } };
    }
    // The origin ignored the Range and sent the whole file: cut the asked bytes out of it.
    if (length === undefined)
      return { ok: false, failed: true, reason: "200 without Content-Length to a Range request" };
    const range = resolveRange(asked, length);
    if (!range) {
      void body.cancel().catch(() => undefined);
      return { ok: true, value: { kind: "unsatisfiable", size: length } };
    }
    if (small(length)) {
      const bytes = await verifyWhole(rc, route, origin, body, length, sha256!);
      return bytes instanceof Uint8Array ? { ok: true, value: { kind: "verified", bytes, range } } : bytes;
    }
    const whole = range.offset === 0 && range.length === length;
    return {
      ok: true,
      value: {
        kind: "stream",
        status: 206,
        whole,
        offset: range.offset,
        length: range.length,
        size: length,
        cut: whole ? undefined : { skip: range.offset, take: range.length },
        sha256,
      },
    };
  };
}

/** Content types and encodings a backfilled copy is stored with. */
function backfillMetadata(route: FileRoute, object: OriginObject) {
  return {
    contentType: object.contentType ?? contentTypeOf(route),
    contentEncoding: route.kind === "nar" ? undefined : object.contentEncoding,
  };
}

function serveVerified(
  rc: RequestContext,
  route: FileRoute,
  found: { index: number; origin: Origin; object: OriginObject; attempts: Attempt[] },
  bytes: Uint8Array,
  range: ResolvedRange | undefined,
): Response {
  const cacheable = bytes.byteLength <= rc.config.maxEdgeObjectBytes;
  const headers = objectHeaders(
    rc,
    route,
    found.object,
    baseHeaders(rc, cacheable ? "MISS" : "BYPASS", found.attempts),
    true,
  );
  if (cacheable) {
    const stored = storeHeaders(headers, bytes.byteLength, true);
    void rc.edge.put(route.key, new Response(bytes, { status: 200, headers: stored, encodeBody: "manual" }));
  }
  for (const bucket of copyTargets(rc, found.index, true)) {
    rc.ctx.waitUntil(
      bucket.put(route.key, bytes, { httpMetadata: backfillMetadata(route, found.object) }).then(
        () => log("info", "backfilled", { key: route.key, from: found.origin.name }),
        (e: unknown) => log("warn", "backfill-failed", { key: route.key, error: String(e) }),
      ),
    );
  }
  if (!range)
    return new Response(bytes, { status: 200, headers: sized(headers, bytes.byteLength), encodeBody: "manual" });
  const slice = bytes.subarray(range.offset, range.offset + range.length);
  return new Response(slice, {
    status: 206,
    headers: sized(headers, range.length, { offset: range.offset, size: bytes.byteLength }),
    encodeBody: "manual",
  });
}

// Bounds how long a failing transfer waits for its edge-cache write to settle and be deleted before the client's
// stream fails (the write errors as soon as its branch does; this only guards against a hung Cache API).
const EDGE_CLEANUP_MS = 5_000;

function serveStream(
  rc: RequestContext,
  route: FileRoute,
  found: { index: number; origin: Origin; object: OriginObject; attempts: Attempt[] },
  plan: Extract<Plan, { kind: "stream" }>,
): Response {
  const { sha256 } = plan;
  const verified = plan.whole && sha256 !== undefined;
  const { object, origin } = found;
  const link = rc.config.chain[found.index]!;
  // A checked stream is "ok" unless its check fails, which beforeClientFails notes before the client's body ends.
  noteVerification(rc.facts, verified ? "ok" : "unverifiable", origin.name);
  const length = plan.whole ? (plan.size ?? plan.length) : plan.length;
  // The cache key is the path alone. A checked file is the same bytes whatever the query; an unchecked one fetched
  // with a query (harmonia's `?hash=` picks the file) might not be the path's file, so it is not kept.
  const keep = plan.whole && (verified || rc.query === "");
  const cacheable = keep && length !== undefined && length <= rc.config.maxEdgeObjectBytes;
  const headers = objectHeaders(
    rc,
    route,
    object,
    baseHeaders(rc, cacheable ? "MISS" : "BYPASS", found.attempts),
    verified,
  );
  const targets = keep ? copyTargets(rc, found.index, verified) : [];
  let edgeWrite: Promise<void> | undefined;
  const fan = fanOut(object.body!, {
    branches: 1 + (cacheable ? 1 : 0) + targets.length,
    // Copies exist only of the whole file, whose length is then the client's too.
    length: plan.length,
    // Only the whole file can be checked against its hash; a range is the origin's bytes for that range.
    expected: plan.whole ? { sha256, length } : { length: plan.cut ? undefined : plan.length },
    cut: plan.cut,
    beforeClientFails: async (error) => {
      link.breaker.failure();
      const corrupt = error instanceof IntegrityError && error.corrupt && plan.whole && sha256 !== undefined;
      if (corrupt) noteVerification(rc.facts, "corrupt-nar", origin.name);
      log("error", corrupt ? "integrity-failed" : "origin-body-failed", {
        key: route.key,
        origin: origin.name,
        detail: String(error),
        sent: true,
      });
      // The marker is written at once, not after the edge write settles: it distrusts every copy whose write began
      // before now, so it holds even for a write the Cache API never settles, or stores after the worker's delete
      // (docs/request-flow.md, "Corrupt copies"). The edge write (and its delete) is then waited for, bounded.
      const marked = corrupt
        ? rememberCorrupt(rc, route.key, origin, edgeWrite !== undefined)
        : edgeWrite && sha256
          ? rc.edge.markFailed(route.key, { copyFailed: true })
          : undefined;
      if (marked) rc.ctx.waitUntil(marked);
      // Each wait has its own bound: the small marker is what makes the client's retry safe, so a slow edge write
      // (a large body being stored) must not use up its time.
      const bounded = (p: Promise<unknown> | undefined) =>
        Promise.race([p, new Promise((resolve) => setTimeout(resolve, EDGE_CLEANUP_MS))]);
      await bounded(marked);
      await bounded(edgeWrite);
    },
  });
  const [forClient, ...copies] = fan.branches;
  if (cacheable) {
    const stored = storeHeaders(headers, length, verified);
    edgeWrite = rc.edge.put(
      route.key,
      new Response(copies.shift()!, { status: 200, headers: stored, encodeBody: "manual" }),
      fan.passed,
    );
  }
  for (const [i, bucket] of targets.entries()) {
    rc.ctx.waitUntil(
      backfill(bucket, route.key, copies[i]!, length, backfillMetadata(route, object), fan.passed).then((stored) => {
        if (stored) log("info", "backfilled", { key: route.key, from: origin.name });
      }),
    );
  }
  // The branch has the length in Content-Length (a FixedLengthStream): workerd sends it as such, not chunked.
  return new Response(forClient!, {
    status: plan.status,
    headers: sized(headers, plan.length, plan.status === 206 ? { offset: plan.offset, size: plan.size } : undefined),
    encodeBody: "manual",
  });
}

export async function serveFile(rc: RequestContext, route: FileRoute): Promise<Response> {
  const rangeHeader = rc.request.headers.get("range");
  const range = rc.method === "GET" ? parseRangeHeader(rangeHeader) : null;
  const sha256 = fileHashOf(route);
  // The failed-transfer marker is looked up beside the edge copy (both in flight at once).
  const marker = sha256
    ? rc.edge.failedTransfers(route.key)
    : Promise.resolve({ corruptOrigins: new Set<string>(), failedAt: undefined });
  const edge = await lookupEdge(rc, route.key, range ? rangeHeader : null);
  if (edge.kind === "blocked") return edge.response;
  if (edge.kind === "hit") {
    if (!suspect(edge.cached, (await marker).failedAt)) return checkedHit(rc, route, edge.cached);
    // Possibly the broken copy of a transfer that failed: never answered, removed, and the origins are asked.
    log("warn", "edge-copy-suspect", { key: route.key });
    void edge.cached.body?.cancel();
    rc.edge.delete(route.key);
  }

  // `bytes=0-` is the whole file: fetched and checked like a GET, answered 206 (docs/request-flow.md, Range).
  const wholeRange = range !== null && !("suffix" in range) && range.offset === 0 && range.end === undefined;
  const asked = range && !wholeRange ? range : undefined;
  // On a miss the marker only reorders the origins (corruptLast): with one origin there is nothing to reorder, so
  // a cold NAR does not wait for that second Cache API lookup (bench/RESULTS.md, section 8).
  const demote = corruptLast(route.key, rc.config.chain.length > 1 ? (await marker).corruptOrigins : new Set<string>());
  if (rc.method === "HEAD") {
    const result = await fetchFromOrigins(
      rc.config.chain,
      route.key,
      { method: "HEAD", query: rc.query },
      undefined,
      demote,
    );
    if (result.kind !== "found") return notFound(rc, route, result);
    noteOrigin(rc.facts, result.index, result.origin.name);
    const { object } = result;
    const cacheable = object.length !== undefined && object.length <= rc.config.maxEdgeObjectBytes;
    const checkable = sha256 !== undefined && rc.config.chain[result.index]!.narNames !== "opaque";
    const headers = objectHeaders(
      rc,
      route,
      object,
      baseHeaders(rc, cacheable ? "MISS" : "BYPASS", result.attempts),
      checkable,
    );
    return new Response(null, { status: 200, headers: sized(headers, object.length) });
  }
  const result = await fetchFromOrigins(
    rc.config.chain,
    route.key,
    { method: "GET", range: asked, query: rc.query },
    acceptFile(rc, route, sha256, asked, wholeRange),
    demote,
  );
  if (result.kind !== "found") return notFound(rc, route, result);
  noteOrigin(rc.facts, result.index, result.origin.name);
  const plan = result.value;
  switch (plan.kind) {
    case "unsatisfiable":
      return errorResponse(
        { kind: "range-not-satisfiable", size: plan.size },
        baseHeaders(rc, "MISS", result.attempts),
      );
    case "verified":
      return serveVerified(rc, route, result, plan.bytes, plan.range);
    case "stream":
      return serveStream(rc, route, result, plan);
  }
}

function notFound(
  rc: RequestContext,
  route: FileRoute,
  result: Exclude<Awaited<ReturnType<typeof fetchFromOrigins>>, { kind: "found" }>,
): Response {
  if (result.kind === "absent") return errorResponse({ kind: "not-found" }, baseHeaders(rc, "MISS", result.attempts));
  if (result.kind === "unsatisfiable") {
    return errorResponse(
      { kind: "range-not-satisfiable", size: result.size ?? 0 },
      baseHeaders(rc, "MISS", result.attempts),
    );
  }
  return originsFailed(rc, route.key, result.attempts, result.timeout);
}
