import { FormatError } from "../narinfo/errors";
import type { NixHash } from "../narinfo/hash";
import { nix32Decode } from "../narinfo/nix32";

/**
 * The extensions after `.nar` that Nix and other tools write: Nix names uploads `nar/<nix32 FileHash>.nar<ext>`
 * for none, xz, bzip2, zstd, lzip, lz4 and br (libstore/binary-cache-store.cc, upsertFile caller); other tools use
 * .gz and .lz. Only such a name is read as carrying a file hash; the narinfo's Compression field, not the
 * extension, is what the client acts on.
 */
const NAR_EXTENSIONS: ReadonlySet<string> = new Set(["", ".xz", ".bz2", ".zst", ".lzip", ".lz", ".lz4", ".br", ".gz"]);

interface NarUrl {
  /** Object key relative to the cache root, e.g. "nar/<h>.nar.xz": no leading slash, no query,
   * percent-escapes kept as written (the same bytes the client puts in its request path). */
  key: string;
  /** Set only when the file name is `<52 nix32 chars>.nar[<ext>]`: the sha256 of the file as served. */
  fileHash?: NixHash;
}

/** RFC 3986 pchar without ':' (so no segment can read as a scheme), '%' only in escapes. */
const SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})+$/;
const QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
const HASHED_NAR = /^([0-9a-df-np-sv-z]{52})\.nar(\.[a-z0-9]+)?$/;
const NAR_NAME = /\.nar(\.[a-z0-9]+)?$/;

/**
 * The narinfo URL field, as a key under the cache root. The field is opaque to the protocol: caches
 * use `nar/<hash>.nar.xz`, `nar/<uuid>.nar.zst`, query strings, even absolute URLs, which Nix ≥ 2.4
 * fetches directly. An absolute URL is rejected (what "nar url"): this edge serves only what its
 * origins hold under the cache root, and following one would make the edge an open proxy for any
 * host a narinfo names. Anything that could address outside the root or alias another key after
 * normalisation — "..", ".", empty segments ("//", a leading or trailing "/"), backslashes,
 * control characters, a fragment — is rejected too.
 */
export function parseNarUrl(url: string): NarUrl {
  const fail = (detail: string) => new FormatError("nar url", detail);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) throw fail("absolute URLs are not served");
  if (url.includes("#")) throw fail("fragment");
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  if (q >= 0 && !QUERY.test(url.slice(q + 1))) throw fail("invalid character in query");
  if (path === "") throw fail("empty path");
  const segments = path.split("/");
  for (const seg of segments) {
    if (seg === "") throw fail("empty path segment");
    if (seg === "." || seg === "..") throw fail("dot segment");
    if (!SEGMENT.test(seg)) throw fail("invalid character in path");
    // Escapes that an origin or proxy decoding the key would turn into a separator or a dot segment.
    if (/%(?:2[Ff]|5[Cc]|00)/.test(seg)) throw fail("escaped separator");
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      throw fail("invalid percent-escape");
    }
    if (decoded === "." || decoded === "..") throw fail("escaped dot segment");
  }

  const result: NarUrl = { key: path };
  const file = segments[segments.length - 1]!;
  const nar = NAR_NAME.exec(file);
  const ext = nar?.[1] ?? "";
  if (nar && NAR_EXTENSIONS.has(ext)) {
    const hashed = HASHED_NAR.exec(file);
    if (hashed) {
      try {
        result.fileHash = { algo: "sha256", bytes: nix32Decode(hashed[1]!) };
      } catch (e) {
        // 52 alphabet characters can still overflow 256 bits: then it is just a name, not a hash.
        if (!(e instanceof FormatError)) throw e;
      }
    }
  }
  return result;
}
