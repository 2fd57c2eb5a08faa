/**
 * `<hash>.narinfo`: fail closed. A narinfo is served only when its StorePath is the one asked for and a trusted key
 * signed it or its CA computes to its StorePath; a forged, unsigned or malformed one counts as absent from that
 * origin and is never cached.
 */
import { log } from "../log";
import { noteOrigin, noteVerification } from "../metrics/facts";
import { formatNarinfo, withSignatures, type Narinfo } from "../narinfo/narinfo";
import { signNarinfo } from "../narinfo/signature";
import { trustNarinfo } from "../narinfo/trust";
import { backfillTargets, fetchFromOrigins, type Acceptor } from "../origins/chain";
import type { Route } from "../routing/routes";
import { errorResponse } from "../routing/errors";
import { parseRangeHeader, resolveRange, type ByteRange } from "../routing/range";
import { baseHeaders, fromEdge, lookupEdge, originsFailed, type RequestContext } from "./context";
import { readNarinfo } from "../origins/narinfoObject";

type NarinfoRoute = Extract<Route, { kind: "narinfo" }>;

function acceptNarinfo(rc: RequestContext, route: NarinfoRoute): Acceptor<Narinfo> {
  const { storeDir } = rc.config.cacheInfo;
  return async (object, origin) => {
    const read = await readNarinfo(object, route.hash, storeDir);
    if (!read.ok) {
      if ("problem" in read)
        noteVerification(rc.facts, read.problem === "wrong-path" ? "wrong-path" : "forged", origin.name);
      return read;
    }
    const trust = await trustNarinfo(read.value, rc.config.trustedKeys, storeDir);
    noteVerification(
      rc.facts,
      trust.valid ? "ok" : trust.reason === "bad-signature" ? "forged" : "unsigned",
      origin.name,
    );
    if (!trust.valid) return { ok: false, reason: `signature: ${trust.reason}` };
    return read;
  };
}

async function withOurSignature(rc: RequestContext, narinfo: Narinfo): Promise<Narinfo> {
  const key = rc.config.signingKey;
  if (!key) return narinfo;
  const sig = await signNarinfo(narinfo, key, rc.config.cacheInfo.storeDir);
  if (narinfo.sigs.includes(sig)) return narinfo;
  return withSignatures(narinfo, [...narinfo.sigs.filter((s) => !s.startsWith(`${key.name}:`)), sig]);
}

/** A byte range of a narinfo built here (a hit's ranges are answered by the Cache API itself). */
function rangeOf(text: string, headers: Headers, range: ByteRange): Response {
  const bytes = new TextEncoder().encode(text);
  const resolved = resolveRange(range, bytes.byteLength);
  if (!resolved) return errorResponse({ kind: "range-not-satisfiable", size: bytes.byteLength }, headers);
  const { offset, length } = resolved;
  const partial = new Headers(headers);
  partial.set("content-range", `bytes ${offset}-${offset + length - 1}/${bytes.byteLength}`);
  return new Response(bytes.slice(offset, offset + length), { status: 206, headers: partial });
}

export async function serveNarinfo(rc: RequestContext, route: NarinfoRoute): Promise<Response> {
  const rangeHeader = rc.method === "GET" ? rc.request.headers.get("range") : null;
  const range = parseRangeHeader(rangeHeader);
  const edge = await lookupEdge(rc, route.key, range ? rangeHeader : null);
  if (edge.kind === "blocked") return edge.response;
  if (edge.kind === "hit") return fromEdge(rc, edge.cached);

  const result = await fetchFromOrigins(rc.config.chain, route.key, { method: "GET" }, acceptNarinfo(rc, route));
  switch (result.kind) {
    case "found": {
      noteOrigin(rc.facts, result.index, result.origin.name);
      const text = formatNarinfo(await withOurSignature(rc, result.value), rc.config.cacheInfo.storeDir);
      const headers = baseHeaders(rc, "MISS", result.attempts);
      headers.set("content-type", "text/x-nix-narinfo");
      headers.set("cache-control", `public, max-age=${rc.config.ttl.narinfo}`);
      headers.set("accept-ranges", "bytes");
      // The edge copy is its own Response over the same text: no tee of a stream for a body already in memory.
      rc.edge.put(route.key, new Response(text, { status: 200, headers }));
      const response = new Response(text, { status: 200, headers });
      for (const bucket of backfillTargets(rc.config.chain, result.index)) {
        rc.ctx.waitUntil(
          // The origin's text, not ours: R2 keeps what the uploader signed, re-signing happens on the way out.
          bucket
            .put(route.key, formatNarinfo(result.value, rc.config.cacheInfo.storeDir), {
              httpMetadata: { contentType: "text/x-nix-narinfo" },
            })
            .catch((e: unknown) => log("warn", "backfill-failed", { key: route.key, error: String(e) })),
        );
      }
      if (rc.method === "HEAD") return new Response(null, { status: 200, headers });
      return range ? rangeOf(text, headers, range) : response;
    }
    case "absent": {
      // Cached briefly so a storm of lookups for a path nobody built stays at the edge; short so a new upload
      // shows up soon (the admin worker's upload hook also purges these).
      const headers = baseHeaders(rc, "MISS", result.attempts);
      headers.set("content-type", "text/plain; charset=utf-8");
      headers.set("cache-control", `public, max-age=${rc.config.ttl.negative}`);
      if (rc.config.ttl.negative > 0) rc.edge.put(route.key, new Response("Not Found\n", { status: 404, headers }));
      const response = new Response("Not Found\n", { status: 404, headers });
      return rc.method === "HEAD" ? new Response(null, { status: 404, headers }) : response;
    }
    case "unsatisfiable":
    case "failed":
      return originsFailed(rc, route.key, result.attempts, result.kind === "failed" && result.timeout);
  }
}
