import { FormatError } from "./errors";

const BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUES = reverseTable(BASE64_CHARS);
const BASE64_CODES = Array.from(BASE64_CHARS, (c) => c.charCodeAt(0));
const PAD = 0x3d; // "="
const NEWLINE = 0x0a;
const BASE16_CHARS = "0123456789abcdef";
/** Arguments per String.fromCharCode call, well below any engine's limit. */
const MAX_ARGUMENTS = 4096;

function reverseTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}

/** Standard padded base64 (RFC 4648 §4), as Nix writes keys, signatures and SRI hashes. */
export function base64Encode(bytes: Uint8Array): string {
  const codes = new Array<number>(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  for (let i = 0; i < bytes.length; i += 3) {
    const left = bytes.length - i;
    const n = (bytes[i]! << 16) | (left > 1 ? bytes[i + 1]! << 8 : 0) | (left > 2 ? bytes[i + 2]! : 0);
    codes[o++] = BASE64_CODES[(n >> 18) & 63]!;
    codes[o++] = BASE64_CODES[(n >> 12) & 63]!;
    codes[o++] = left > 1 ? BASE64_CODES[(n >> 6) & 63]! : PAD;
    codes[o++] = left > 2 ? BASE64_CODES[n & 63]! : PAD;
  }
  return fromCharCodes(codes);
}

/**
 * A string from character codes, in one piece: appending one character at a time builds a chain of string pieces
 * that every later use (comparison, hashing, encoding) has to flatten first (bench/RESULTS.md, pure core).
 */
export function fromCharCodes(codes: number[]): string {
  if (codes.length <= MAX_ARGUMENTS) return String.fromCharCode(...codes);
  let out = "";
  for (let k = 0; k < codes.length; k += MAX_ARGUMENTS)
    out += String.fromCharCode(...codes.slice(k, k + MAX_ARGUMENTS));
  return out;
}

/**
 * Canonical padded base64 only. Nix's own decoder (libutil/base64.cc) is lenient — it stops at the
 * first '=' and skips newlines — but everything Nix writes is canonical, and accepting several
 * spellings of one key or signature would only widen what an attacker can feed us.
 */
export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new FormatError("base64", "length is not a multiple of 4");
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const pos = i + k;
      const code = s.charCodeAt(pos);
      const v = pos >= s.length - pad ? 0 : code < 128 ? BASE64_VALUES[code]! : -1;
      if (v < 0) throw new FormatError("base64", `invalid character at offset ${pos}`);
      n = (n << 6) | v;
    }
    const bytes = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const keep = i + 4 === s.length ? 3 - pad : 3;
    // Non-zero bits under the padding would make two strings decode to the same bytes.
    if (keep < 3 && (n & (keep === 1 ? 0xffff : 0xff)) !== 0) {
      throw new FormatError("base64", "non-zero padding bits");
    }
    for (let k = 0; k < keep; k++) out[o++] = bytes[k]!;
  }
  return out;
}

/**
 * Base64 as every Nix reads the hashes and signatures of a narinfo (libutil/util.cc base64Decode in 2.3,
 * libutil/base-n.cc base64::decode since): decoding stops at the first '=', newlines are skipped, leftover bits are
 * dropped, any other character outside the alphabet is an error. So unpadded text is read by all of them and must
 * not be refused here (docs/protocol.md, "Parse rules"). Callers check the decoded length; values are re-written
 * canonically before they are served.
 */
export function base64DecodeAsNix(s: string): Uint8Array {
  let end = s.indexOf("=");
  if (end < 0) end = s.length;
  let chars = end;
  if (s.includes("\n")) {
    chars = 0;
    for (let i = 0; i < end; i++) if (s.charCodeAt(i) !== NEWLINE) chars++;
  }
  // Exactly the bytes the characters before the first '=' carry: one allocation, no copy.
  const out = new Uint8Array(Math.floor((chars * 6) / 8));
  let o = 0;
  let bits = 0;
  let acc = 0;
  let i = 0;
  // Without newlines, four characters at a time are three whole bytes; the character-at-a-time loop below then reads
  // the rest (and finds the first character outside the alphabet, if there is one).
  if (chars === end) {
    const quads = decodeQuads(s, 0, Math.floor(end / 4), out);
    i = quads * 4;
    o = quads * 3;
  }
  for (; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code === NEWLINE) continue;
    const v = value(s, i);
    if (v < 0) throw new FormatError("base64", `invalid character at offset ${i}`);
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * How many bytes base64DecodeAsNix would read from `s` after `start`, or -1 where it would refuse it: the same scan
 * without the decoding, for a caller that only needs to know the value is well-formed (a narinfo's Sig lines at
 * parse, bench/RESULTS.md, pure core).
 */
export function base64LengthAsNix(s: string, start: number): number {
  let end = s.indexOf("=", start);
  if (end < 0) end = s.length;
  let chars = 0;
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code === NEWLINE) continue;
    if (value(s, i) < 0) return -1;
    chars++;
  }
  return Math.floor((chars * 6) / 8);
}

/**
 * Padded base64 of exactly `out.length` bytes at `start` of `s` (its canonical length, the text's end), decoded into
 * `out` as base64DecodeAsNix would read it: true, or false where the text has another length or padding, or a
 * character outside the alphabet before the padding (`out` then holds garbage). Nothing is allocated: for a value read
 * often at a known size (a trusted key's Sig, on every narinfo verified; bench/RESULTS.md, pure core).
 */
export function base64DecodeInto(s: string, start: number, out: Uint8Array): boolean {
  const whole = Math.floor(out.length / 3);
  const rest = out.length - whole * 3;
  if (s.length - start !== Math.ceil(out.length / 3) * 4) return false;
  if (decodeQuads(s, start, whole, out) !== whole) return false;
  if (rest === 0) return true;
  const i = start + whole * 4;
  const o = whole * 3;
  // One byte: two characters then "=="; two bytes: three then "=". The bits left under the padding are dropped, as
  // base64DecodeAsNix drops them.
  const n = (value(s, i) << 18) | (value(s, i + 1) << 12) | (rest === 2 ? value(s, i + 2) << 6 : 0);
  if (n < 0 || s.charCodeAt(i + 3) !== PAD || (rest === 1 && s.charCodeAt(i + 2) !== PAD)) return false;
  out[o] = n >> 16;
  if (rest === 2) out[o + 1] = (n >> 8) & 0xff;
  return true;
}

/**
 * Up to `count` groups of four base64 characters from `start` of `s`, each three bytes written into `out` from its
 * start; stops at the first group with a character outside the alphabet. Returns how many groups it wrote.
 */
function decodeQuads(s: string, start: number, count: number, out: Uint8Array): number {
  for (let q = 0, i = start, o = 0; q < count; q++, i += 4) {
    const n = (value(s, i) << 18) | (value(s, i + 1) << 12) | (value(s, i + 2) << 6) | value(s, i + 3);
    if (n < 0) return q;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  return count;
}

/** The value of the base64 character at `i`; -1 in all 32 bits (so any sum of shifts of it is negative) if none. */
function value(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code < 128 ? BASE64_VALUES[code]! : -1;
}

/**
 * Whether `s` from `start` on, which base64DecodeAsNix read as `byteLength` bytes, is already what base64Encode writes
 * for them: the canonical length with its padding, and no bits set under the padding. Saves encoding a value only to
 * find it unchanged (Sig lines, on every narinfo parsed, read in place after their name).
 */
export function isCanonicalBase64(s: string, byteLength: number, start = 0): boolean {
  const length = Math.ceil(byteLength / 3) * 4;
  if (s.length - start !== length) return false;
  const dataChars = Math.ceil((byteLength * 8) / 6);
  for (let i = dataChars; i < length; i++) if (s.charCodeAt(start + i) !== PAD) return false;
  if (dataChars === 0) return true;
  // Having read byteLength bytes before the first '=', the first dataChars characters are all in the alphabet.
  const spareBits = dataChars * 6 - byteLength * 8;
  return (BASE64_VALUES[s.charCodeAt(start + dataChars - 1)]! & ((1 << spareBits) - 1)) === 0;
}

/** Lower-case hex, as Nix prints base-16 hashes. */
export function base16Encode(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += BASE16_CHARS[b >> 4]! + BASE16_CHARS[b & 15]!;
  return out;
}

/** Hex of either case: Nix's hash parser accepts A-F as well as a-f (libutil/hash.cc, parseHexDigit). */
export function base16Decode(s: string): Uint8Array {
  if (s.length % 2 !== 0) throw new FormatError("base16", "odd length");
  if (!/^[0-9a-fA-F]*$/.test(s)) throw new FormatError("base16", "invalid character");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
