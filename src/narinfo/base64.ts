import { FormatError } from "./errors";

const BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUES = reverseTable(BASE64_CHARS);
const BASE16_CHARS = "0123456789abcdef";

function reverseTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}

/** Standard padded base64 (RFC 4648 §4), as Nix writes keys, signatures and SRI hashes. */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += BASE64_CHARS[(n >> 18) & 63]! + BASE64_CHARS[(n >> 12) & 63]!;
    out += b === undefined ? "=" : BASE64_CHARS[(n >> 6) & 63]!;
    out += c === undefined ? "=" : BASE64_CHARS[n & 63]!;
  }
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
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "=") break;
    if (c === "\n") continue;
    const code = s.charCodeAt(i);
    const v = code < 128 ? BASE64_VALUES[code]! : -1;
    if (v < 0) throw new FormatError("base64", `invalid character at offset ${i}`);
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
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
