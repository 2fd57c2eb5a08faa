/**
 * The one reader of a narinfo an origin answered, for the cache worker (src/serve/narinfo.ts) and the admin
 * worker's lookups (src/admin/servedObjects.ts) alike: the body decoded as Nix would (`narinfo-compression`,
 * docs/request-flow.md "Content-Encoding"), read whole but bounded, parsed, and its StorePath checked against the
 * hash asked for. The body is already under the origin's idle timeout (src/origins/timeouts.ts); a stall or break
 * while reading throws, which the origin chain counts as a failed origin.
 */
import { FormatError } from "../narinfo/errors";
import { MAX_NARINFO_LENGTH, parseNarinfo, type Narinfo } from "../narinfo/narinfo";
import { readBounded } from "../streams/readBounded";
import type { Acceptor } from "./chain";
import { decodedBody } from "./contentEncoding";
import type { OriginObject } from "./origin";

/** An acceptor's verdict; a refusal of the text itself says which (`problem`), for the request's data point. */
type NarinfoVerdict =
  Awaited<ReturnType<Acceptor<Narinfo>>> | { ok: false; reason: string; problem: "malformed" | "wrong-path" };

export async function readNarinfo(object: OriginObject, hash: string, storeDir: string): Promise<NarinfoVerdict> {
  if (!object.body) return { ok: false, reason: "empty body" };
  // A narinfo stored compressed is decoded, never read as absent; one the runtime cannot decode makes the origin
  // failed (5xx), since the narinfo may well be there.
  const body = decodedBody(object.body, object.contentEncoding);
  if (!body) {
    await object.body.cancel().catch(() => undefined);
    return { ok: false, failed: true, reason: `cannot decode Content-Encoding ${object.contentEncoding}` };
  }
  const text = await readBounded(body, MAX_NARINFO_LENGTH);
  if (text === undefined) return { ok: false, reason: "narinfo too large" };
  let narinfo: Narinfo;
  try {
    narinfo = parseNarinfo(text, storeDir);
  } catch (e) {
    if (e instanceof FormatError) return { ok: false, reason: `malformed narinfo: ${e.message}`, problem: "malformed" };
    throw e;
  }
  // Nix rejects a narinfo for another path (libstore/binary-cache-store.cc); so do we, before anyone uses it.
  if (narinfo.storePath.hash !== hash) {
    return { ok: false, reason: "StorePath does not match the requested hash", problem: "wrong-path" };
  }
  return { ok: true, value: narinfo };
}
