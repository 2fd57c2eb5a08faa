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
 * 1;/nix/store/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app;sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs;
 *   552;/nix/store/d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep
 * ```
 * (The example is one line, broken after its NarHash here.)
 *
 * Only StorePath, NarHash, NarSize and References are signed. Everything else — URL, Compression,
 * FileHash, FileSize, Deriver, System, CA — can be changed by whoever serves the file, so nothing
 * here may trust them beyond what the client itself re-checks (NarHash and NarSize of the NAR).
 */
import { base16Encode, base64Encode, isCanonicalBase64 } from "./base64";
import { parseContentAddress } from "./contentAddress";
import { FormatError } from "./errors";
import { type NixHash, parseNixHash, formatNixHash } from "./hash";
import { nix32EncodedLength } from "./nix32";
import { SIGNATURE_BYTES, formatSignature, isWellFormedSignature, parseSignature } from "./signature";
import {
  STORE_DIR,
  type StorePath,
  formatStorePath,
  parseStorePathBaseNameIn,
  parseStorePathIn,
  storePathBaseName,
} from "./storePath";

export interface Narinfo {
  /** `StorePath`, required. In the fingerprint. */
  storePath: StorePath;
  /** `URL` of the (compressed) NAR, relative to the cache root; opaque, required. Not in the fingerprint. */
  url: string;
  /** `Compression` as written; undefined when absent (meaning bzip2, see narinfoCompression). Not in the
   * fingerprint. */
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

/**
 * The Compression values Nix ≥ 2.35 knows (libutil/compression-algo.hh); any other value makes it reject the whole
 * narinfo, so such a narinfo is refused here and the client falls through to its next substituter.
 */
const KNOWN_COMPRESSIONS: ReadonlySet<string> = new Set([
  "none",
  "br",
  "bzip2",
  "compress",
  "grzip",
  "gzip",
  "lrzip",
  "lz4",
  "lzip",
  "lzma",
  "lzop",
  "xz",
  "zstd",
]);

const KNOWN_KEYS = new Set([
  "StorePath",
  "URL",
  "Compression",
  "FileHash",
  "FileSize",
  "NarHash",
  "NarSize",
  "References",
  "Deriver",
  "System",
  "Sig",
  "CA",
]);
/** The known keys by length: a line's key is recognised in place, without cutting it out of the text first. */
const KNOWN_KEYS_BY_LENGTH: string[][] = [];
for (const key of KNOWN_KEYS) (KNOWN_KEYS_BY_LENGTH[key.length] ??= []).push(key);

/** The known key that the text from `start` to `colon` spells, if any. */
function knownKeyIn(text: string, start: number, colon: number): string | undefined {
  const candidates = KNOWN_KEYS_BY_LENGTH[colon - start];
  if (candidates !== undefined) for (const key of candidates) if (text.startsWith(key, start)) return key;
  return undefined;
}

const KEY = /^[A-Za-z][A-Za-z0-9-]*$/;
const CONTROL = /[\x00-\x1f\x7f]/;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const DEL = 0x7f;

/** CONTROL.test on the characters of `s` from `start` to `end`, read in place. */
function hasControl(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code < SPACE || code === DEL) return true;
  }
  return false;
}

/** Whether a control character follows the first '=' of `s`. */
function hasControlAfterPad(s: string): boolean {
  const pad = s.indexOf("=");
  return pad >= 0 && hasControl(s, pad, s.length);
}

/**
 * Known keys whose values the parser below refuses on any control character anyway (sizes, names from a fixed set,
 * store path base names): they are not searched first, only a refused one is, so the message stays "control
 * character". StorePath and the hashes are read the same way, except for the one part of each that their parsers let
 * through (the store directory, which is configuration; what follows a hash's first '=', which base64 reading stops
 * at): only that part is searched once the value is read.
 */
function isStrict(key: string): boolean {
  return key !== "URL" && key !== "System" && key !== "CA";
}

/**
 * Parse as libstore/nar-info.cc (NarInfo::NarInfo) does in every supported Nix, so that nothing they all accept is
 * refused, and drop or refuse what a current Nix would reject as an error, since an error fails the client's build
 * where an absent narinfo lets it fall through (docs/protocol.md, "Parse rules", has the table):
 * - `Key: value` lines; a repeated key's last value wins, except a second non-empty References or CA (an error in
 *   Nix); Sig lines accumulate, duplicates collapse;
 * - References are split on spaces, empty tokens dropped;
 * - sizes may have leading zeros or a '+'; hashes and signatures may be unpadded base64;
 * - a Sig line Nix ≥ 2.34 could not parse is dropped; an unknown Compression (an error in Nix ≥ 2.35) is refused;
 * - a line with an unknown key is ignored by Nix; it is kept when it can be written back, else dropped;
 * - stricter than Nix where Nix would misread: a known key needs exactly ": ", control characters (CR of CRLF
 *   files) in a known field are refused.
 * The final newline may be missing (Nix requires it; the text is re-written with it before serving).
 *
 * The text is read in place, line by line with indexOf: keys, store paths and sizes are checked where they stand and
 * only the values kept are cut out (bench/RESULTS.md, pure core).
 */
export function parseNarinfo(text: string, storeDir: string = STORE_DIR): Narinfo {
  if (text.length > MAX_NARINFO_LENGTH) throw new FormatError("narinfo", "larger than 1 MiB");
  // Where the lines end: before the final newline, if there is one.
  const length = text.length > 0 && text.charCodeAt(text.length - 1) === NEWLINE ? text.length - 1 : text.length;
  if (length === 0) throw new FormatError("narinfo", "empty");

  let storePath: StorePath | undefined;
  let url = "";
  let narHashText: string | undefined;
  let narHash: NixHash | undefined;
  let narSize = 0;
  let haveNarSize = false;
  let compression: string | undefined;
  let fileHash: NixHash | undefined;
  let fileHashText: string | undefined;
  let fileSize: number | undefined;
  let references: StorePath[] = [];
  let deriver: string | undefined;
  let system: string | undefined;
  const sigs: string[] = [];
  let ca: string | undefined;
  const extra: [string, string][] = [];

  for (let i = 0, start = 0, end = 0; start <= length; i++, start = end + 1) {
    end = text.indexOf("\n", start);
    if (end < 0) end = length;
    const colon = text.indexOf(":", start);
    // Nix takes the key up to the first ':' of the text and skips two characters after it; without a ':' or a
    // character after it on this line, it would read the next line as part of this one.
    if (colon < 0 || colon >= end - 1) throw lineError(i, "expected 'Key: value'");
    const from = colon + 2;
    const key = knownKeyIn(text, start, colon);
    if (key === undefined) {
      // Ignored by every Nix; kept for round-tripping (e.g. newer Nix's fields) when it can be written back.
      const name = text.slice(start, colon);
      if (KEY.test(name) && text.charCodeAt(colon + 1) === SPACE && !hasControl(text, from, end)) {
        extra.push([name, text.slice(from, end)]);
      }
      continue;
    }
    if (text.charCodeAt(colon + 1) !== SPACE) throw lineError(i, "expected 'Key: value'");
    if (key === "Sig") {
      const value = text.slice(from, end);
      // Dropped, not refused: a Sig Nix ≥ 2.34 cannot parse would make it reject the narinfo. Only checked here,
      // not decoded: verifying decodes the trusted key's Sig (src/narinfo/signature.ts, isWellFormedSignature).
      if (!isWellFormedSignature(value)) continue;
      // Written back as Nix writes it; most are already (then the line itself is kept, nothing is re-encoded).
      const sig = isCanonicalBase64(value, SIGNATURE_BYTES, value.indexOf(":") + 1)
        ? value
        : formatSignature(parseSignature(value));
      if (!sigs.includes(sig)) sigs.push(sig);
      continue;
    }
    const strict = isStrict(key);
    if (!strict && hasControl(text, from, end)) throw lineError(i, "control character");
    try {
      switch (key) {
        case "StorePath":
          storePath = parseStorePathIn(text, from, end, storeDir);
          if (hasControl(text, from, from + storeDir.length)) throw lineError(i, "control character");
          break;
        case "URL":
          url = text.slice(from, end);
          break;
        case "Compression": {
          const value = text.slice(from, end);
          if (value !== "" && !KNOWN_COMPRESSIONS.has(value)) throw lineError(i, `unknown Compression '${value}'`);
          compression = value;
          break;
        }
        case "FileHash": {
          const value = text.slice(from, end);
          fileHash = parseNixHash(value);
          if (hasControlAfterPad(value)) throw lineError(i, "control character");
          fileHashText = value;
          break;
        }
        case "FileSize":
          fileSize = parseSize(text, from, end);
          break;
        case "NarHash": {
          const value = text.slice(from, end);
          narHash = parseNixHash(value);
          if (hasControlAfterPad(value)) throw lineError(i, "control character");
          narHashText = value;
          break;
        }
        case "NarSize":
          narSize = parseSize(text, from, end);
          haveNarSize = true;
          break;
        case "References": {
          if (references.length > 0) throw lineError(i, "duplicate References");
          // A set in Nix: a repeated reference is one reference (the first one stays, in file order). The first few
          // are compared one by one (no string hashed); a longer list takes a set of the base names.
          const refs: StorePath[] = [];
          let seen: Set<string> | undefined;
          for (let tokenStart = from, tokenEnd = from; tokenStart <= end; tokenStart = tokenEnd + 1) {
            tokenEnd = text.indexOf(" ", tokenStart);
            if (tokenEnd < 0 || tokenEnd > end) tokenEnd = end;
            if (tokenEnd === tokenStart) continue;
            const ref = parseStorePathBaseNameIn(text, tokenStart, tokenEnd);
            if (refs.length < FEW_REFERENCES) {
              if (includesStorePath(refs, ref)) continue;
            } else {
              seen ??= new Set(refs.map(storePathBaseName));
              const token = text.slice(tokenStart, tokenEnd);
              if (seen.has(token)) continue;
              seen.add(token);
            }
            refs.push(ref);
          }
          references = refs;
          break;
        }
        case "Deriver": {
          const value = text.slice(from, end);
          // nar-info.cc reads "unknown-deriver" as no deriver; kept verbatim for round-tripping.
          if (value !== "unknown-deriver") parseStorePathBaseNameIn(text, from, end);
          deriver = value;
          break;
        }
        case "System":
          system = text.slice(from, end);
          break;
        case "CA": {
          const value = text.slice(from, end);
          if (ca !== undefined && ca !== "") throw lineError(i, "duplicate CA");
          // Empty is no content address (ContentAddress::parseOpt).
          if (value !== "") parseContentAddress(value);
          ca = value;
          break;
        }
      }
    } catch (e) {
      if (e instanceof FormatError && strict && hasControl(text, from, end)) throw lineError(i, "control character");
      if (e instanceof FormatError && e.what !== "narinfo") throw lineError(i, `${key}: ${e.message}`);
      throw e;
    }
  }

  // nar-info.cc reports the first of these that is missing, after reading every line.
  if (storePath === undefined) throw new FormatError("narinfo", "StorePath missing");
  if (narHash === undefined || narHashText === undefined) throw new FormatError("narinfo", "NarHash missing");
  if (url === "") throw new FormatError("narinfo", "URL missing");
  if (!haveNarSize) throw new FormatError("narinfo", "NarSize missing");
  if (narSize === 0) throw new FormatError("narinfo", "NarSize is zero");
  // One object literal with every field, present or not: every parsed narinfo has the same shape.
  return {
    storePath,
    url,
    compression,
    fileHash,
    fileHashText,
    fileSize,
    narHash,
    narHashText,
    narSize,
    references,
    deriver,
    system,
    sigs,
    ca,
    extra,
  };
}

/** Up to this many References are de-duplicated by comparing each with those before it. */
export const FEW_REFERENCES = 16;

/** Whether `paths` holds `p`; the hashes' first characters are compared first, which rules out nearly all. */
function includesStorePath(paths: StorePath[], p: StorePath): boolean {
  const first = p.hash.charCodeAt(0);
  for (let i = 0; i < paths.length; i++) {
    const q = paths[i]!;
    if (q.hash.charCodeAt(0) === first && q.hash === p.hash && q.name === p.name) return true;
  }
  return false;
}

function lineError(index: number, detail: string): FormatError {
  return new FormatError("narinfo", `line ${index + 1}: ${detail}`);
}

const PLUS = 0x2b;
const DIGIT_0 = 0x30;

/**
 * Decimal digits with an optional '+', leading zeros allowed: what both Nix 2.3 (istream >>) and later
 * (boost::lexical_cast in string2Int) accept; no spaces, no '-'. Sizes beyond 2^53 (8 PiB) are not real NARs, so
 * a JS number holds every valid value exactly. Written back without sign or zeros. Read in place from `start` to
 * `end` of `s`; summing the digits gives Number()'s value wherever that is a safe integer, and a sum that is not one
 * stays one (bench/RESULTS.md, pure core).
 */
function parseSize(s: string, start: number, end: number): number {
  let i = start < end && s.charCodeAt(start) === PLUS ? start + 1 : start;
  if (i === end) throw new FormatError("size", `invalid size '${s.slice(start, end)}'`);
  let n = 0;
  for (; i < end; i++) {
    const digit = s.charCodeAt(i) - DIGIT_0;
    if (!(digit >= 0 && digit <= 9)) throw new FormatError("size", `invalid size '${s.slice(start, end)}'`);
    n = n * 10 + digit;
  }
  if (!Number.isSafeInteger(n)) throw new FormatError("size", `size ${s.slice(start, end)} too large`);
  return n;
}

/**
 * Keeps the narinfo's own spelling of a hash when it is one of the canonical ones Nix writes or reads by length
 * (typed base16, nix32, padded base64, padded SRI) and still denotes `h`; otherwise (unpadded, upper-case hex, or
 * changed) writes Nix's own form, which every version reads.
 */
function hashText(h: NixHash, text: string | undefined): string {
  if (text !== undefined) {
    // The forms differ in separator or length, so the text can only be the one its shape names: only that one is
    // encoded to compare.
    const typed = `${h.algo}:`;
    let form: string | undefined;
    if (text.startsWith(`${h.algo}-`)) form = `${h.algo}-${base64Encode(h.bytes)}`;
    else if (text.startsWith(typed)) {
      const digits = text.length - typed.length;
      if (digits === h.bytes.length * 2) form = typed + base16Encode(h.bytes);
      else if (digits === nix32EncodedLength(h.bytes.length)) form = formatNixHash(h);
      else form = typed + base64Encode(h.bytes);
    }
    if (form === text) return text;
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
  const known = lines.length;
  lines.push(...n.extra);

  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const [key, value] = lines[i]!;
    // Nix's own keys are valid by construction; only the unknown ones kept from a parse need checking.
    if (i >= known && !KEY.test(key)) throw new FormatError("narinfo", `invalid key '${key}'`);
    if (CONTROL.test(value)) throw new FormatError("narinfo", `${key} contains a control character`);
    out += `${key}: ${value}\n`;
  }
  return out;
}

/** A copy of `n` with its Sig lines replaced, e.g. after re-signing with our own key. */
export function withSignatures(n: Narinfo, sigs: string[]): Narinfo {
  return { ...n, references: [...n.references], extra: n.extra.map(([k, v]) => [k, v]), sigs: [...sigs] };
}
