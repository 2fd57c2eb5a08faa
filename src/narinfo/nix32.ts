import { fromCharCodes } from "./base64";
import { FormatError } from "./errors";

/** Nix's base-32 alphabet: digits and lower-case letters without e, o, u, t (libutil/base-nix-32.hh). */
const NIX32_CHARS = "0123456789abcdfghijklmnpqrsvwxyz";

const NIX32_CODES = Array.from(NIX32_CHARS, (c) => c.charCodeAt(0));

const NIX32_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < NIX32_CHARS.length; i++) table[NIX32_CHARS.charCodeAt(i)] = i;
  return table;
})();

/** Length of the nix32 text for `n` bytes: ceil(n * 8 / 5), 0 for 0 (libutil/base-nix-32.hh encodedLength). */
export function nix32EncodedLength(n: number): number {
  return n === 0 ? 0 : Math.floor((n * 8 - 1) / 5) + 1;
}

/**
 * Nix's base-32. Unlike RFC 4648 it reads the input as one little-endian number and prints its
 * 5-bit digits most significant first, so the first character comes from the last byte
 * (libutil/base-nix-32.cc, BaseNix32::encode).
 */
export function nix32Encode(bytes: Uint8Array): string {
  const length = nix32EncodedLength(bytes.length);
  // A plain array: spreading a typed array into String.fromCharCode costs twenty times more.
  const codes = new Array<number>(length);
  for (let n = length - 1, k = 0; n >= 0; n--, k++) codes[k] = nix32DigitCode(bytes, n);
  return fromCharCodes(codes);
}

/** The character code of the nix32 digit `n` of `bytes`, counted from the least significant, 0. */
function nix32DigitCode(bytes: Uint8Array, n: number): number {
  const b = n * 5;
  const i = b >> 3;
  const j = b & 7;
  const c = (bytes[i]! >> j) | (i + 1 < bytes.length ? bytes[i + 1]! << (8 - j) : 0);
  return NIX32_CODES[c & 31]!;
}

/**
 * Inverse of nix32Encode. Rejects what Nix's hash parser rejects (libutil/hash.cc, Hash::Hash):
 * characters outside the alphabet and set bits beyond the last byte — 52 digits hold 260 bits
 * for a 256-bit hash, so without that check several strings would name one hash. Also rejects
 * lengths no byte count encodes to.
 */
export function nix32Decode(s: string, start = 0): Uint8Array {
  const length = s.length - start;
  const size = Math.floor((length * 5) / 8);
  if (nix32EncodedLength(size) !== length) {
    throw new FormatError("nix32", `length ${length} is not a valid nix32 length`);
  }
  const out = new Uint8Array(size);
  for (let n = 0; n < length; n++) {
    const code = s.charCodeAt(s.length - n - 1);
    const digit = code < 128 ? NIX32_VALUES[code]! : -1;
    if (digit < 0) throw new FormatError("nix32", `invalid character at offset ${length - n - 1}`);
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    out[i] = out[i]! | (digit << j);
    const carry = digit >> (8 - j);
    if (i < size - 1) out[i + 1] = out[i + 1]! | carry;
    else if (carry !== 0) throw new FormatError("nix32", "non-zero bits beyond the last byte");
  }
  return out;
}

/**
 * Whether the characters of `s` from `start` to `end` are all in the nix32 alphabet (read in place, no copy): runs on
 * every store path a narinfo names, whose 32 digits are exactly 160 bits, so the alphabet is all there is to check.
 */
export function isNix32Digits(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code >= 128 || NIX32_VALUES[code]! < 0) return false;
  }
  return true;
}
