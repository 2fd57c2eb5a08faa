import { FormatError } from "./errors";
import type { Narinfo } from "./narinfo";
import { formatNixHash } from "./hash";
import { STORE_DIR, type StorePath, storePathBaseName } from "./storePath";

/**
 * What a narinfo Sig signs (libstore/path-info.cc, ValidPathInfo::fingerprint):
 * `1;<store path>;sha256:<nix32 NarHash>;<NarSize>;<full reference paths, sorted, joined by ",">`.
 * The NarHash is written as nix32 whatever form the narinfo used (as it was read, when it was nix32). References are
 * a set in Nix, so duplicates collapse. Empty references leave a trailing ";". A Sig signs this text's UTF-8
 * (narinfoFingerprintBytes), where a lone surrogate, which no parsed narinfo holds, becomes U+FFFD.
 */
export function narinfoFingerprint(n: Narinfo, storeDir: string = STORE_DIR): string {
  // Nix 2.x refuses to fingerprint a non-SHA-256 NarHash ("its hash is not SHA-256").
  if (n.narHash.algo !== "sha256") throw new FormatError("narinfo", "NarHash is not sha256");
  if (n.narSize === 0) throw new FormatError("narinfo", "NarSize is zero");
  // Full paths share the store directory, so sorting base names sorts them; equal ones end up side by side.
  const sorted = sortedByBaseName(n.references);
  const prefix = `${storeDir}/`;
  let refs = "";
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (i > 0 && p.hash === sorted[i - 1]!.hash && p.name === sorted[i - 1]!.name) continue;
    refs += i > 0 ? `,${prefix}${p.hash}-${p.name}` : `${prefix}${p.hash}-${p.name}`;
  }
  return `1;${prefix}${n.storePath.hash}-${n.storePath.name};${formatNixHash(n.narHash)};${n.narSize};${refs}`;
}

const UTF8 = new TextEncoder();

/**
 * narinfoFingerprint's UTF-8 bytes, which are what a Sig signs: into `into` when they fit (a view of it then, valid
 * until it is written again), else into a new array. One string encoded by one runtime call: with a parsed NarHash's
 * nix32 text kept as it was read (src/narinfo/hash.ts), nothing in it is encoded by our code, and this costs less than
 * writing its ~400 characters one at a time (bench/RESULTS.md, pure core).
 */
export function narinfoFingerprintBytes(n: Narinfo, storeDir: string = STORE_DIR, into?: Uint8Array): Uint8Array {
  const text = narinfoFingerprint(n, storeDir);
  // At most three UTF-8 bytes for each UTF-16 code unit.
  const out = into !== undefined && 3 * text.length <= into.length ? into : new Uint8Array(3 * text.length);
  return out.subarray(0, UTF8.encodeInto(text, out).written);
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
