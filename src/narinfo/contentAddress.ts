/**
 * Content addresses (the narinfo `CA` field) and the store paths they determine. A narinfo whose StorePath is the
 * one computed from its CA and References needs no signature: every Nix accepts it as is (libstore/path-info.cc,
 * isContentAddressed, checked first by checkSignatures). docs/protocol.md, "Content-addressed paths".
 */
import { base16Encode } from "./base64";
import { FormatError } from "./errors";
import { type NixHash, parseNixHash } from "./hash";
import type { Narinfo } from "./narinfo";
import { nix32Encode } from "./nix32";
import { type StorePath, STORE_DIR, STORE_PATH_HASH_LEN, formatStorePath, storePathBaseName } from "./storePath";

/**
 * The forms every supported Nix reads (libstore/content-address.cc, ContentAddress::parse):
 * `text:<algo>:<digest>` (a file added with builtins.toFile or a .drv), `fixed:<algo>:<digest>` (a flat file) and
 * `fixed:r:<algo>:<digest>` (a NAR serialisation). The digest is base16, nix32 or base64, told apart by length.
 * `fixed:git:` needs an experimental feature and Nix 2.8 cannot parse it, so it is refused.
 */
type ContentAddress =
  { method: "text"; hash: NixHash } | { method: "flat"; hash: NixHash } | { method: "nar"; hash: NixHash };

export function parseContentAddress(s: string): ContentAddress {
  const m = /^(text|fixed):(r:)?([a-z0-9]+:.*)$/.exec(s);
  if (!m || (m[1] === "text" && m[2] !== undefined)) {
    throw new FormatError("content address", "not text:<algo>:<hash>, fixed:<algo>:<hash> or fixed:r:<algo>:<hash>");
  }
  // parseNonSRIUnprefixed: the digest always follows "<algo>:", never SRI.
  const hash = parseNixHash(m[3]!);
  const method = m[1] === "text" ? "text" : m[2] ? "nar" : "flat";
  return { method, hash };
}

/** `algo:<base16>`, the spelling store path hashing uses (Hash::to_string(Base16, true)). */
function typedBase16(h: NixHash): string {
  return `${h.algo}:${base16Encode(h.bytes)}`;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** libutil/hash.cc, compressHash: XOR-fold the digest into `size` bytes. */
function compressHash(digest: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  digest.forEach((b, i) => (out[i % size]! ^= b));
  return out;
}

/**
 * libstore/store-dir-config.cc, makeStorePath: the path hash is the first 160 bits, folded, of
 * sha256("<type>:<algo>:<base16 digest>:<store dir>:<name>").
 */
// 32 nix32 characters carry 160 bits.
const STORE_PATH_HASH_BYTES = (STORE_PATH_HASH_LEN * 5) / 8;

async function makeStorePath(type: string, inner: string, name: string, storeDir: string): Promise<string> {
  const digest = await sha256(`${type}:${inner}:${storeDir}:${name}`);
  const hash = nix32Encode(compressHash(digest, STORE_PATH_HASH_BYTES));
  return `${storeDir}/${hash}-${name}`;
}

/** makeType: references are appended to the type as full paths, sorted, then ":self" for a self-reference. */
function makeType(type: string, others: StorePath[], self: boolean, storeDir: string): string {
  const refs = [...new Set(others.map((r) => formatStorePath(r, storeDir)))].sort();
  return [type, ...refs, ...(self ? ["self"] : [])].join(":");
}

/**
 * The store path Nix computes for `name` with content address `ca` and these references
 * (makeFixedOutputPathFromCA), or undefined where Nix computes none:
 * - text: sha256 only, no self-reference (path-info.cc asserts it);
 * - fixed:r:sha256: the "source" type, with references and self-reference in the type;
 * - other fixed: no references at all, the path of the "output:out" of a fixed-output derivation.
 */
export async function contentAddressedPath(
  ca: ContentAddress,
  name: string,
  references: StorePath[],
  self: StorePath,
  storeDir: string = STORE_DIR,
): Promise<string | undefined> {
  const selfBase = storePathBaseName(self);
  const hasSelf = references.some((r) => storePathBaseName(r) === selfBase);
  const others = references.filter((r) => storePathBaseName(r) !== selfBase);
  switch (ca.method) {
    case "text":
      if (ca.hash.algo !== "sha256" || hasSelf) return undefined;
      return makeStorePath(makeType("text", others, false, storeDir), typedBase16(ca.hash), name, storeDir);
    case "nar":
    case "flat": {
      if (ca.method === "nar" && ca.hash.algo === "sha256") {
        return makeStorePath(makeType("source", others, hasSelf, storeDir), typedBase16(ca.hash), name, storeDir);
      }
      if (references.length > 0) return undefined;
      const prefix = ca.method === "nar" ? "r:" : "";
      const inner = await sha256(`fixed:out:${prefix}${typedBase16(ca.hash)}:`);
      return makeStorePath("output:out", `sha256:${base16Encode(inner)}`, name, storeDir);
    }
  }
}

/**
 * True when `n` has a CA whose computed store path is its StorePath: Nix then needs no signature. A CA that does not
 * compute to the path (Nix only warns "claims to be content-addressed but isn't") leaves the signature check to decide.
 */
export async function isContentAddressed(n: Narinfo, storeDir: string = STORE_DIR): Promise<boolean> {
  if (n.ca === undefined || n.ca === "") return false;
  let ca: ContentAddress;
  try {
    ca = parseContentAddress(n.ca);
  } catch (e) {
    if (e instanceof FormatError) return false;
    throw e;
  }
  const path = await contentAddressedPath(ca, n.storePath.name, n.references, n.storePath, storeDir);
  return path === formatStorePath(n.storePath, storeDir);
}
