import { base16Decode, base64DecodeAsNix } from "./base64";
import { FormatError } from "./errors";
import { isNix32Digits, nix32Decode, nix32EncodedLength, nix32Encode } from "./nix32";

/** The algorithms Nix accepts without experimental features (blake3 needs one; not served here). */
type HashAlgo = "md5" | "sha1" | "sha256" | "sha512";

/** Read-only: one read from nix32 text derives its bytes from that text (Nix32Sha256, below). */
export interface NixHash {
  readonly algo: HashAlgo;
  readonly bytes: Uint8Array;
}

const HASH_SIZES: Readonly<Record<HashAlgo, number>> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

function parseHashAlgo(s: string): HashAlgo {
  if (s === "md5" || s === "sha1" || s === "sha256" || s === "sha512") return s;
  throw new FormatError("hash", `unknown hash algorithm '${s}'`);
}

/**
 * `algo:<digest>` or SRI `algo-<base64>`, as Hash::parseAnyPrefixed (libutil/hash.cc). After ':' the
 * encoding is chosen by length alone: base16, then nix32, then base64 (sha256: 64, 52, 44 chars). SRI has no
 * length rule: any base64 that decodes to the digest size, padded or not, as in every Nix.
 */
export function parseNixHash(s: string): NixHash {
  // The form every narinfo NarHash and FileHash has in practice: checked in place, decoded only when asked for.
  if (s.length === SHA256_NIX32.length + SHA256_NIX32_DIGITS && s.startsWith(SHA256_NIX32)) {
    if (isNix32Sha256(s, SHA256_NIX32.length)) return new Nix32Sha256(s);
    // Not a sha256 in nix32: decoding it throws the message the general path would.
    try {
      nix32Decode(s, SHA256_NIX32.length);
    } catch (e) {
      if (e instanceof FormatError) throw new FormatError("hash", `bad sha256 digest: ${e.message}`);
      throw e;
    }
  }
  // hash.cc getParsedTypeAndSRI: a ':' anywhere wins over '-'.
  const colon = s.indexOf(":");
  const sep = colon >= 0 ? colon : s.indexOf("-");
  if (sep < 0) throw new FormatError("hash", "hash has no algorithm prefix");
  const algo = parseHashAlgo(s.slice(0, sep));
  const rest = s.slice(sep + 1);
  const size = HASH_SIZES[algo];
  const isSRI = colon < 0;
  let bytes: Uint8Array;
  try {
    if (!isSRI && rest.length === size * 2) bytes = base16Decode(rest);
    else if (!isSRI && rest.length === nix32EncodedLength(size)) bytes = nix32Decode(rest);
    else if (isSRI || rest.length === base64Length(size)) bytes = base64DecodeAsNix(rest);
    else throw new FormatError("hash", `wrong length for ${algo}`);
  } catch (e) {
    if (e instanceof FormatError && e.what !== "hash")
      throw new FormatError("hash", `bad ${algo} digest: ${e.message}`);
    throw e;
  }
  if (bytes.length !== size) throw new FormatError("hash", `wrong length for ${algo}`);
  return { algo, bytes };
}

const SHA256_NIX32 = "sha256:";
const SHA256_NIX32_DIGITS = nix32EncodedLength(32);

/**
 * A sha256 hash read from its typed nix32 text (`sha256:<52 digits>`), which it keeps: the fingerprint a Sig signs and
 * the narinfo written back both want that text, so the bytes are decoded only when something asks for them
 * (bench/RESULTS.md, pure core).
 */
class Nix32Sha256 implements NixHash {
  readonly algo = "sha256";
  private decoded: Uint8Array | undefined = undefined;
  constructor(readonly text: string) {}
  get bytes(): Uint8Array {
    return (this.decoded ??= nix32Decode(this.text, SHA256_NIX32.length));
  }
}

/**
 * Whether the 52 characters of `s` from `start` are the nix32 of a sha256, checked without decoding: all in the
 * alphabet, and the first (most significant) digit 0 or 1, since 52 digits hold 260 bits and Nix refuses any set
 * beyond the 256th (nix32Decode).
 */
function isNix32Sha256(s: string, start: number): boolean {
  const first = s.charCodeAt(start);
  return (first === 0x30 || first === 0x31) && isNix32Digits(s, start + 1, start + SHA256_NIX32_DIGITS);
}

function base64Length(size: number): number {
  return Math.ceil(size / 3) * 4;
}

/** `algo:<nix32>`, the form Nix writes in narinfos and fingerprints. */
export function formatNixHash(h: NixHash): string {
  if (h instanceof Nix32Sha256) return h.text;
  return `${h.algo}:${nix32Encode(h.bytes)}`;
}

export function hashesEqual(a: NixHash, b: NixHash): boolean {
  if (a.algo !== b.algo || a.bytes.length !== b.bytes.length) return false;
  return a.bytes.every((byte, i) => byte === b.bytes[i]);
}
