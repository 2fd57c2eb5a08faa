import { FormatError } from "./errors";
import type { Narinfo } from "./narinfo";
import { nix32EncodeInto, nix32EncodedLength } from "./nix32";
import { STORE_DIR, type StorePath, storePathBaseName } from "./storePath";

/**
 * What a narinfo Sig signs (libstore/path-info.cc, ValidPathInfo::fingerprint):
 * `1;<store path>;sha256:<nix32 NarHash>;<NarSize>;<full reference paths, sorted, joined by ",">`.
 * The NarHash is re-encoded as nix32 whatever form the narinfo used. References are a set in Nix,
 * so duplicates collapse. Empty references leave a trailing ";".
 */
export function narinfoFingerprint(n: Narinfo, storeDir: string = STORE_DIR): string {
  return UTF8_DECODER.decode(narinfoFingerprintBytes(n, storeDir));
}

const UTF8 = new TextEncoder();
const UTF8_DECODER = new TextDecoder();
const SEMICOLON = 0x3b;
const DASH = 0x2d;
const COMMA = 0x2c;
const SHA256_PREFIX = Array.from("sha256:", (c) => c.charCodeAt(0));
const DIGIT_0 = 0x30;

/**
 * narinfoFingerprint's UTF-8 bytes, which are what a Sig signs: into `into` when they fit (a view of it then, valid
 * until it is written again), else into a new array. Verifying builds no string: the nix32 NarHash and the NarSize are
 * written as bytes, the store directory copied from its bytes, the store paths' characters copied one by one
 * (bench/RESULTS.md, pure core).
 */
export function narinfoFingerprintBytes(n: Narinfo, storeDir: string = STORE_DIR, into?: Uint8Array): Uint8Array {
  // Nix 2.x refuses to fingerprint a non-SHA-256 NarHash ("its hash is not SHA-256").
  if (n.narHash.algo !== "sha256") throw new FormatError("narinfo", "NarHash is not sha256");
  if (n.narSize === 0) throw new FormatError("narinfo", "NarSize is zero");
  // Full paths share the store directory, so sorting base names sorts them; equal ones end up side by side.
  const sorted = sortedByBaseName(n.references);
  const dir = storeDirBytes(storeDir);
  // Room enough: at most three UTF-8 bytes for each UTF-16 code unit of a name or hash; no number prints longer than
  // 25 characters; "1;", "sha256:", three ";" and a "-" and "," a path.
  const pathBound = (p: StorePath) => dir.length + 3 * (p.hash.length + p.name.length) + 2;
  let bound = 2 + pathBound(n.storePath) + 3 + SHA256_PREFIX.length + nix32EncodedLength(n.narHash.bytes.length) + 25;
  for (const p of sorted) bound += pathBound(p);
  const out = into !== undefined && bound <= into.length ? into : new Uint8Array(bound);

  out[0] = 0x31; // "1"
  out[1] = SEMICOLON;
  let o = writePath(n.storePath, dir, out, 2);
  out[o++] = SEMICOLON;
  for (const c of SHA256_PREFIX) out[o++] = c;
  o = nix32EncodeInto(n.narHash.bytes, out, o);
  out[o++] = SEMICOLON;
  // A parsed NarSize is a positive safe integer (src/narinfo/narinfo.ts, parseSize); any other number as String().
  o =
    Number.isSafeInteger(n.narSize) && n.narSize > 0
      ? writeDecimal(n.narSize, out, o)
      : writeText(String(n.narSize), out, o);
  out[o++] = SEMICOLON;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (i > 0 && p.hash === sorted[i - 1]!.hash && p.name === sorted[i - 1]!.name) continue;
    if (i > 0) out[o++] = COMMA;
    o = writePath(p, dir, out, o);
  }
  return out.subarray(0, o);
}

/** `<storeDir>/<hash>-<name>` at `o`, the directory given as the bytes of `<storeDir>/`; returns where it ends. */
function writePath(p: StorePath, dir: Uint8Array, out: Uint8Array, o: number): number {
  for (let i = 0; i < dir.length; i++) out[o++] = dir[i]!;
  o = writeText(p.hash, out, o);
  out[o++] = DASH;
  return writeText(p.name, out, o);
}

let lastStoreDir: { storeDir: string; bytes: Uint8Array } | undefined;

/** The UTF-8 of `<storeDir>/`, kept for the store directory last asked for (there is one in a deployment). */
function storeDirBytes(storeDir: string): Uint8Array {
  if (lastStoreDir?.storeDir !== storeDir) lastStoreDir = { storeDir, bytes: UTF8.encode(`${storeDir}/`) };
  return lastStoreDir.bytes;
}

/** The UTF-8 of `s` at `o` (room for three bytes a code unit is there); returns where it ends. */
function writeText(s: string, out: Uint8Array, o: number): number {
  // Store paths that were parsed are ASCII, which is copied as it is; anything else is the encoder's.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return o + UTF8.encodeInto(s.slice(i), out.subarray(o)).written;
    out[o++] = c;
  }
  return o;
}

/** A positive safe integer in decimal at `o`, as String() writes it; returns where it ends. */
function writeDecimal(value: number, out: Uint8Array, o: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  for (let i = o + digits - 1, v = value; i >= o; i--, v = Math.floor(v / 10)) out[i] = DIGIT_0 + (v % 10);
  return o + digits;
}

/** Up to this many references are sorted by insertion, which beats the runtime's sort on a handful of items. */
export const FEW_TO_SORT = 16;

/** A sorted copy of `paths`, in the order of their base names. */
function sortedByBaseName(paths: StorePath[]): StorePath[] {
  const sorted = paths.slice();
  if (sorted.length > FEW_TO_SORT) return sorted.sort(compareBaseNames);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i]!;
    let j = i - 1;
    for (; j >= 0 && compareBaseNames(sorted[j]!, p) > 0; j--) sorted[j + 1] = sorted[j]!;
    sorted[j + 1] = p;
  }
  return sorted;
}

/**
 * The order of `${hash}-${name}` without building it: with equal hashes the names decide, with hashes of one length
 * (32, in every parsed store path) the hashes do; only otherwise are the base names built and compared.
 */
function compareBaseNames(a: StorePath, b: StorePath): number {
  // Most pairs of hashes differ in their first character: that decides without comparing strings.
  if (a.hash.length === b.hash.length && a.hash.length > 0) {
    const first = a.hash.charCodeAt(0) - b.hash.charCodeAt(0);
    if (first !== 0) return first;
  }
  if (a.hash === b.hash) return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  if (a.hash.length === b.hash.length) return a.hash < b.hash ? -1 : 1;
  const x = storePathBaseName(a);
  const y = storePathBaseName(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
