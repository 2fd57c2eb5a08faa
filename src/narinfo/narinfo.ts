/**
 * A narinfo: what a binary cache serves at `/<hash>.narinfo`. A real one, made by Nix 2.8.0 with
 * `nix copy --to file://…?compression=xz` and a test key:
 *
 * ```text
 * StorePath: /nix/store/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app
 * URL: nar/0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm.nar.xz
 * Compression: xz
 * FileHash: sha256:0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm
 * FileSize: 244
 * NarHash: sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs
 * NarSize: 552
 * References: d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep
 * Deriver: s2bxa55kccmmq8b59fm9i450dyv8br1n-feas-app.drv
 * Sig: cache-test-1:NzXtVG4bylAyTq6fpzXA5LGIuY+oKGlQU5nS59Pr+4B3SMOcUYLCNbASgUSQRrmQRphHyPm7wbN4ALJKi+beDw==
 * ```
 *
 * Each `Sig` is an Ed25519 signature over the fingerprint (libstore/path-info.cc, fingerprint):
 *
 * ```text
 * 1;<StorePath>;<NarHash as sha256:nix32>;<NarSize>;<References as full paths, sorted, joined by ",">
 * 1;/nix/store/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app;sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs;552;/nix/store/d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep
 * ```
 *
 * Only StorePath, NarHash, NarSize and References are signed. Everything else — URL, Compression,
 * FileHash, FileSize, Deriver, System, CA — can be changed by whoever serves the file, so nothing
 * here may trust them beyond what the client itself re-checks (NarHash and NarSize of the NAR).
 */
import { FormatError } from "./errors";
import { type NixHash, hashesEqual, parseNixHash, formatNixHash } from "./hash";
import {
  STORE_DIR,
  type StorePath,
  formatStorePath,
  parseStorePath,
  parseStorePathBaseName,
  storePathBaseName,
} from "./storePath";

export interface Narinfo {
  /** `StorePath`, required. In the fingerprint. */
  storePath: StorePath;
  /** `URL` of the (compressed) NAR, relative to the cache root; opaque, required. Not in the fingerprint. */
  url: string;
  /** `Compression` as written; undefined when absent (meaning bzip2, see narinfoCompression). Not in the fingerprint. */
  compression?: string;
  /** `FileHash`: hash of the file at URL. The client never checks it. Not in the fingerprint. */
  fileHash?: NixHash;
  /** `FileHash` exactly as written, so formatting reproduces it. */
  fileHashText?: string;
  /** `FileSize` of the file at URL. Not in the fingerprint. */
  fileSize?: number;
  /** `NarHash` of the uncompressed NAR, required. In the fingerprint, always as sha256 nix32. */
  narHash: NixHash;
  /** `NarHash` exactly as written (Nix also accepts base16, base64 and SRI forms). */
  narHashText: string;
  /** `NarSize` of the uncompressed NAR, required, non-zero. In the fingerprint. */
  narSize: number;
  /** `References` (base names in the file), in file order. In the fingerprint, as sorted full paths. */
  references: StorePath[];
  /** `Deriver`: a .drv base name, or "unknown-deriver", verbatim. Not in the fingerprint. */
  deriver?: string;
  /** `System`: obsolete, written by old Nix, ignored by the client. Not in the fingerprint. */
  system?: string;
  /** `Sig` lines, in file order, unparsed: a malformed one must not make the narinfo unreadable. */
  sigs: string[];
  /** `CA`: content address, e.g. `fixed:r:sha256:…`. Not in the fingerprint. */
  ca?: string;
  /** Unknown keys, in file order, so that formatting does not drop them (e.g. newer Nix's Provenance). */
  extra: [string, string][];
}

/** Narinfos are a few KiB; the largest real ones (thousands of references) stay well below this. */
export const MAX_NARINFO_LENGTH = 1024 * 1024;

/** libstore/nar-info.cc: an empty or absent Compression means bzip2, Nix's historical default. */
export function narinfoCompression(n: Narinfo): string {
  return n.compression || "bzip2";
}

const SINGLE_KEYS = new Set([
  "StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash", "NarSize",
  "References", "Deriver", "System", "CA",
]);

/**
 * Parse as libstore/nar-info.cc (NarInfo::NarInfo) does, but stricter where Nix is accidentally lax:
 * - each line is `Key: value` with exactly ": " after the key; Nix skips two characters blindly;
 * - no control characters (so no CR: Nix splits on "\n" only and would keep the "\r" in values);
 * - a repeated single-valued key is an error; Nix errors for References and CA and lets the last
 *   one win for the others, which could not round-trip;
 * - References are separated by exactly one space, as Nix writes them.
 * The final newline may be missing.
 */
export function parseNarinfo(text: string, storeDir: string = STORE_DIR): Narinfo {
  if (text.length > MAX_NARINFO_LENGTH) throw new FormatError("narinfo", "larger than 1 MiB");
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (body === "") throw new FormatError("narinfo", "empty");

  let storePath: StorePath | undefined;
  let url: string | undefined;
  let narHashText: string | undefined;
  let narHash: NixHash | undefined;
  let narSize: number | undefined;
  const n: Omit<Narinfo, "storePath" | "url" | "narHash" | "narHashText" | "narSize"> = {
    references: [],
    sigs: [],
    extra: [],
  };
  const seen = new Set<string>();

  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fail = (detail: string) => new FormatError("narinfo", `line ${i + 1}: ${detail}`);
    if (/[\x00-\x1f\x7f]/.test(line)) throw fail("control character");
    const colon = line.indexOf(":");
    if (colon <= 0 || line[colon + 1] !== " ") throw fail("expected 'Key: value'");
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(key)) throw fail("invalid key");
    if (SINGLE_KEYS.has(key)) {
      if (seen.has(key)) throw fail(`duplicate ${key}`);
      seen.add(key);
    }
    try {
      switch (key) {
        case "StorePath":
          storePath = parseStorePath(value, storeDir);
          break;
        case "URL":
          if (value === "") throw fail("empty URL");
          url = value;
          break;
        case "Compression":
          n.compression = value;
          break;
        case "FileHash":
          n.fileHash = parseNixHash(value);
          n.fileHashText = value;
          break;
        case "FileSize":
          n.fileSize = parseSize(value);
          break;
        case "NarHash":
          narHash = parseNixHash(value);
          narHashText = value;
          break;
        case "NarSize":
          narSize = parseSize(value);
          if (narSize === 0) throw fail("NarSize is zero");
          break;
        case "References":
          // nar-info.cc tokenizes on " "; Nix writes single spaces, and "References: " is no references.
          n.references = value === "" ? [] : value.split(" ").map(parseStorePathBaseName);
          break;
        case "Deriver":
          // nar-info.cc reads "unknown-deriver" as no deriver; kept verbatim for round-tripping.
          if (value !== "unknown-deriver") parseStorePathBaseName(value);
          n.deriver = value;
          break;
        case "System":
          n.system = value;
          break;
        case "Sig":
          n.sigs.push(value);
          break;
        case "CA":
          checkContentAddress(value);
          n.ca = value;
          break;
        default:
          n.extra.push([key, value]);
      }
    } catch (e) {
      if (e instanceof FormatError && e.what !== "narinfo") throw fail(`${key}: ${e.message}`);
      throw e;
    }
  }

  // nar-info.cc reports the first of these that is missing.
  if (storePath === undefined) throw new FormatError("narinfo", "StorePath missing");
  if (narHash === undefined || narHashText === undefined) throw new FormatError("narinfo", "NarHash missing");
  if (url === undefined) throw new FormatError("narinfo", "URL missing");
  if (narSize === undefined) throw new FormatError("narinfo", "NarSize missing");
  return { storePath, url, narHash, narHashText, narSize, ...n };
}

/**
 * Decimal, no sign, no leading zeros, no spaces. Nix uses string2Int<uint64_t>; sizes beyond 2^53
 * (8 PiB) are not real NARs, so a JS number holds every valid value exactly.
 */
function parseSize(s: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new FormatError("size", `invalid size '${s}'`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new FormatError("size", `size ${s} too large`);
  return n;
}

/**
 * libstore/content-address.cc, ContentAddress::parse: `text:<hash>` or `fixed:[r:|git:]<hash>`,
 * where <hash> is `algo:digest`. Nix treats an empty CA as absent (parseOpt); we keep it verbatim.
 */
function checkContentAddress(s: string): void {
  if (s === "") return;
  const m = /^(?:text:|fixed:(?:r:|git:)?)(.*)$/.exec(s);
  if (!m || !m[1]!.includes(":")) throw new FormatError("content address", "not text:… or fixed:…");
  parseNixHash(m[1]!);
}

/** Keeps the narinfo's own spelling of a hash if it still denotes `h`, else writes Nix's form. */
function hashText(h: NixHash, text: string | undefined): string {
  if (text !== undefined) {
    try {
      if (hashesEqual(parseNixHash(text), h)) return text;
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
    }
  }
  return formatNixHash(h);
}

/**
 * Nix's field order (libstore/nar-info.cc, NarInfo::to_string), then unknown keys. Optional fields
 * are written only when present, so `formatNarinfo(parseNarinfo(x)) === x` for what Nix writes.
 * References is always written, as Nix does. Throws FormatError if a value would break the line format.
 */
export function formatNarinfo(n: Narinfo, storeDir: string = STORE_DIR): string {
  const lines: [string, string][] = [
    ["StorePath", formatStorePath(n.storePath, storeDir)],
    ["URL", n.url],
  ];
  if (n.compression !== undefined) lines.push(["Compression", n.compression]);
  if (n.fileHash !== undefined) lines.push(["FileHash", hashText(n.fileHash, n.fileHashText)]);
  if (n.fileSize !== undefined) lines.push(["FileSize", String(n.fileSize)]);
  lines.push(["NarHash", hashText(n.narHash, n.narHashText)]);
  lines.push(["NarSize", String(n.narSize)]);
  lines.push(["References", n.references.map(storePathBaseName).join(" ")]);
  if (n.deriver !== undefined) lines.push(["Deriver", n.deriver]);
  if (n.system !== undefined) lines.push(["System", n.system]);
  for (const sig of n.sigs) lines.push(["Sig", sig]);
  if (n.ca !== undefined) lines.push(["CA", n.ca]);
  lines.push(...n.extra);

  let out = "";
  for (const [key, value] of lines) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(key)) throw new FormatError("narinfo", `invalid key '${key}'`);
    if (/[\x00-\x1f\x7f]/.test(value)) throw new FormatError("narinfo", `${key} contains a control character`);
    out += `${key}: ${value}\n`;
  }
  return out;
}

/** A copy of `n` with its Sig lines replaced, e.g. after re-signing with our own key. */
export function withSignatures(n: Narinfo, sigs: string[]): Narinfo {
  return { ...n, references: [...n.references], extra: n.extra.map(([k, v]) => [k, v]), sigs: [...sigs] };
}
