/**
 * The pure core's fast paths (bench/RESULTS.md, pure core) against the plain definitions they replace. Each
 * reference below is the straightforward implementation the module used before it was made fast; every vector must
 * give the same answer (or the same kind of error) from both.
 */
import { describe, expect, it } from "vitest";
import {
  base16Encode,
  base64DecodeAsNix,
  base64Encode,
  base64DecodeInto,
  base64LengthAsNix,
  fromCharCodes,
  isCanonicalBase64,
} from "../../src/narinfo/base64";
import { parseContentAddress } from "../../src/narinfo/contentAddress";
import { FormatError } from "../../src/narinfo/errors";
import { FEW_TO_SORT, narinfoFingerprint, narinfoFingerprintBytes } from "../../src/narinfo/fingerprint";
import { formatNixHash, parseNixHash, type NixHash } from "../../src/narinfo/hash";
import { parsePublicKey, parseSecretKey, type PublicKey } from "../../src/narinfo/keys";
import {
  FEW_REFERENCES,
  formatNarinfo,
  MAX_NARINFO_LENGTH,
  parseNarinfo,
  withSignatures,
  type Narinfo,
} from "../../src/narinfo/narinfo";
import { isNix32Digits, nix32Decode, nix32Encode } from "../../src/narinfo/nix32";
import {
  formatSignature,
  isWellFormedSignature,
  parseSignature,
  signNarinfo,
  verifyNarinfo,
} from "../../src/narinfo/signature";
import {
  formatStorePath,
  parseStorePath,
  parseStorePathBaseName,
  parseStorePathName,
  type StorePath,
  storePathBaseName,
} from "../../src/narinfo/storePath";
import {
  NIX_SIGNED_CONTENT_ADDRESSED,
  NIX_SIGNED_WITH_REFERENCE,
  NIX_TEST_PUBLIC_KEY,
  NIX_TEST_SECRET_KEY,
  PROTOCOL_NARINFO,
} from "./nixVectors";

const NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Deterministic pseudo-random numbers, so that a failing vector can be reproduced. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
const random = generator(20261130);
const bytesOf = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));
const textOf = (alphabet: string, length: number) =>
  Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");

/** The outcome of `f`: its value, or the kind of FormatError it threw. */
function outcome<T>(f: () => T): T | string {
  try {
    return f();
  } catch (e) {
    if (e instanceof FormatError) return `FormatError(${e.what})`;
    throw e;
  }
}

// --- reference definitions (the code before the fast paths) ---

function referenceNix32Encode(bytes: Uint8Array): string {
  let out = "";
  const length = bytes.length === 0 ? 0 : Math.floor((bytes.length * 8 - 1) / 5) + 1;
  for (let n = length - 1; n >= 0; n--) {
    const b = n * 5;
    const i = b >> 3;
    const j = b & 7;
    const c = (bytes[i]! >> j) | ((bytes[i + 1] ?? 0) << (8 - j));
    out += NIX32[c & 31]!;
  }
  return out;
}

function referenceIsNix32(s: string): boolean {
  return outcome(() => nix32Decode(s)) instanceof Uint8Array;
}

function referenceBase64DecodeAsNix(s: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "=") break;
    if (c === "\n") continue;
    const v = B64.indexOf(c);
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

function referenceFingerprint(n: Narinfo, storeDir = "/nix/store"): string {
  const refs = [...new Set(n.references.map((r) => formatStorePath(r, storeDir)))].sort();
  const narHash = `${n.narHash.algo}:${nix32Encode(n.narHash.bytes)}`;
  return `1;${formatStorePath(n.storePath, storeDir)};${narHash};${n.narSize};${refs.join(",")}`;
}

function referenceParseStorePathName(s: string): string {
  if (s.length === 0) throw new FormatError("store path", "name is empty");
  if (s.length > 211) throw new FormatError("store path", "name is longer than 211 characters");
  if (!/^[0-9a-zA-Z+\-._?=]+$/.test(s)) throw new FormatError("store path", "name has a forbidden character");
  if (s === "." || s === ".." || s.startsWith(".-") || s.startsWith("..-")) {
    throw new FormatError("store path", `name '${s}' is not allowed`);
  }
  return s;
}

function referenceParseStorePathBaseName(base: string): StorePath {
  if (base.length < 33 || base[32] !== "-") throw new FormatError("store path", "base name is not '<hash>-<name>'");
  const hash = base.slice(0, 32);
  if (!referenceIsNix32(hash)) throw new FormatError("store path", "hash part is not 32 nix32 characters");
  return { hash, name: referenceParseStorePathName(base.slice(33)) };
}

function referenceParseStorePath(path: string, storeDir: string): StorePath {
  if (!path.startsWith(`${storeDir}/`)) throw new FormatError("store path", `path is not in ${storeDir}`);
  return referenceParseStorePathBaseName(path.slice(storeDir.length + 1));
}

function referenceParseSignature(s: string): { keyName: string; sig: Uint8Array } {
  const colon = s.indexOf(":");
  if (colon <= 0) throw new FormatError("signature", "expected 'name:base64'");
  const keyName = s.slice(0, colon);
  if (/[\s\x00-\x1f\x7f]/.test(keyName))
    throw new FormatError("signature", "name has whitespace or control characters");
  const sig = outcome(() => referenceBase64DecodeAsNix(s.slice(colon + 1)));
  if (typeof sig === "string") throw new FormatError("signature", "invalid base64");
  if (sig.length !== 64) throw new FormatError("signature", "not 64 bytes");
  return { keyName, sig };
}

/** parseNarinfo as it was written first: the text split into lines, each line cut into key and value. */
function referenceParseNarinfo(text: string, storeDir = "/nix/store"): Narinfo {
  const KNOWN = ["StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash", "NarSize", "References"];
  KNOWN.push("Deriver", "System", "Sig", "CA");
  const COMPRESSIONS = ["none", "br", "bzip2", "compress", "grzip", "gzip", "lrzip", "lz4", "lzip", "lzma"];
  COMPRESSIONS.push("lzop", "xz", "zstd");
  const STRICT = ["Compression", "FileSize", "NarSize", "References", "Deriver"];
  const CONTROL = /[\x00-\x1f\x7f]/;
  const lineError = (i: number, detail: string) => new FormatError("narinfo", `line ${i + 1}: ${detail}`);
  const parseSize = (v: string) => {
    if (!/^\+?[0-9]+$/.test(v)) throw new FormatError("size", `invalid size '${v}'`);
    if (!Number.isSafeInteger(Number(v))) throw new FormatError("size", `size ${v} too large`);
    return Number(v);
  };
  if (text.length > MAX_NARINFO_LENGTH) throw new FormatError("narinfo", "larger than 1 MiB");
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (body === "") throw new FormatError("narinfo", "empty");
  const f: Partial<Narinfo> & { narSizeSeen?: boolean } = { references: [], sigs: [], extra: [] };
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon < 0 || colon === line.length - 1) throw lineError(i, "expected 'Key: value'");
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (!KNOWN.includes(key)) {
      if (/^[A-Za-z][A-Za-z0-9-]*$/.test(key) && line[colon + 1] === " " && !CONTROL.test(value)) {
        f.extra!.push([key, value]);
      }
      continue;
    }
    if (line[colon + 1] !== " ") throw lineError(i, "expected 'Key: value'");
    if (key === "Sig") {
      const parsed = outcome(() => referenceParseSignature(value));
      if (typeof parsed === "string") continue;
      // Written back canonically: the line itself when it already is.
      const sig = formatSignature(parsed);
      if (!f.sigs!.includes(sig)) f.sigs!.push(sig);
      continue;
    }
    const strict = STRICT.includes(key);
    if (!strict && CONTROL.test(value)) throw lineError(i, "control character");
    try {
      if (key === "StorePath") f.storePath = referenceParseStorePath(value, storeDir);
      else if (key === "URL") f.url = value;
      else if (key === "Compression") {
        if (value !== "" && !COMPRESSIONS.includes(value)) throw lineError(i, `unknown Compression '${value}'`);
        f.compression = value;
      } else if (key === "FileHash") [f.fileHash, f.fileHashText] = [parseNixHash(value), value];
      else if (key === "FileSize") f.fileSize = parseSize(value);
      else if (key === "NarHash") [f.narHash, f.narHashText] = [parseNixHash(value), value];
      else if (key === "NarSize") [f.narSize, f.narSizeSeen] = [parseSize(value), true];
      else if (key === "References") {
        if (f.references!.length > 0) throw lineError(i, "duplicate References");
        const tokens = [...new Set(value.split(" ").filter((t) => t !== ""))];
        f.references = tokens.map(referenceParseStorePathBaseName);
      } else if (key === "Deriver") {
        if (value !== "unknown-deriver") referenceParseStorePathBaseName(value);
        f.deriver = value;
      } else if (key === "System") f.system = value;
      else if (key === "CA") {
        if (f.ca !== undefined && f.ca !== "") throw lineError(i, "duplicate CA");
        if (value !== "") parseContentAddress(value);
        f.ca = value;
      }
    } catch (e) {
      if (e instanceof FormatError && strict && CONTROL.test(value)) throw lineError(i, "control character");
      if (e instanceof FormatError && e.what !== "narinfo") throw lineError(i, `${key}: ${e.message}`);
      throw e;
    }
  }
  if (f.storePath === undefined) throw new FormatError("narinfo", "StorePath missing");
  if (f.narHash === undefined) throw new FormatError("narinfo", "NarHash missing");
  if (!f.url) throw new FormatError("narinfo", "URL missing");
  if (!f.narSizeSeen) throw new FormatError("narinfo", "NarSize missing");
  if (f.narSize === 0) throw new FormatError("narinfo", "NarSize is zero");
  delete f.narSizeSeen;
  return f as Narinfo;
}

/** What `f` gives: its value, or the exact message of the FormatError it threw. */
function result<T>(f: () => T): T | string {
  try {
    return f();
  } catch (e) {
    if (e instanceof FormatError) return `FormatError(${e.what}): ${e.message}`;
    throw e;
  }
}

function referenceHashText(h: NixHash, text: string): string {
  const b64 = base64Encode(h.bytes);
  const forms = [`${h.algo}:${base16Encode(h.bytes)}`, formatNixHash(h), `${h.algo}:${b64}`, `${h.algo}-${b64}`];
  return forms.includes(text) ? text : formatNixHash(h);
}

// --- vectors ---

describe("nix32", () => {
  it("isNix32Digits accepts exactly the alphabet, in place: the characters from start to end", () => {
    const vectors = ["", "0", "00", "z", "zz", "e", "A", "é", "\u0100", " ", "0".repeat(32), "0".repeat(33)];
    for (const length of [1, 2, 25, 32, 52, 104]) {
      vectors.push(textOf(NIX32, length), textOf(NIX32, length - 1) + "e", "t" + textOf(NIX32, length - 1));
      vectors.push(textOf(NIX32, length) + "\n", textOf(B64, length));
    }
    const inAlphabet = (s: string) => [...s].every((c) => NIX32.includes(c));
    for (const s of vectors) {
      expect(isNix32Digits(s, 0, s.length), JSON.stringify(s)).toBe(inAlphabet(s));
      // The same characters inside a longer text with foreign ones around them.
      expect(isNix32Digits(`-${s}-`, 1, s.length + 1), JSON.stringify(s)).toBe(inAlphabet(s));
    }
    // Not all one answer: both kinds of vector are there.
    expect(vectors.filter(inAlphabet).length).toBeGreaterThan(5);
    expect(vectors.filter((s) => !inAlphabet(s)).length).toBeGreaterThan(5);
  });

  it("nix32Encode writes what the character-at-a-time definition writes, at every length", () => {
    for (let length = 0; length <= 100; length++) {
      const bytes = bytesOf(length);
      expect(nix32Encode(bytes), `${length} bytes`).toBe(referenceNix32Encode(bytes));
    }
    // Longer than one String.fromCharCode call takes.
    const long = bytesOf(10_000);
    expect(nix32Encode(long)).toBe(referenceNix32Encode(long));
    expect(nix32Decode(nix32Encode(long))).toEqual(long);
  });
});

describe("base64", () => {
  it("base64Encode agrees with btoa at every length, also beyond one String.fromCharCode call", () => {
    for (const length of [...Array.from({ length: 101 }, (_, i) => i), 4095, 4096, 4097, 10_000]) {
      const bytes = bytesOf(length);
      expect(base64Encode(bytes), `${length} bytes`).toBe(btoa(String.fromCharCode(...bytes)));
    }
  });

  it("fromCharCodes joins any number of codes", () => {
    for (const length of [0, 1, 4096, 4097, 9000]) {
      const codes = Array.from({ length }, (_, i) => 32 + (i % 90));
      expect(fromCharCodes(codes)).toBe(codes.map((c) => String.fromCharCode(c)).join(""));
    }
  });

  it("base64DecodeAsNix reads what the lenient definition reads, and refuses what it refuses", () => {
    const vectors = [
      "",
      "=",
      "==",
      "\n",
      "Z",
      "Zg",
      "Zg=",
      "Zg==",
      "Zh==",
      "Zm9v\nYg",
      "\nZm9vYg==\n",
      "Zm9vYg=garbage!",
      "Zm9v Yg",
      "Zm9v*",
      "Zm9vé",
      "Zm-_",
      "=Zm9v",
    ];
    for (let length = 0; length < 100; length++) {
      let s = textOf(B64, length);
      if (length % 3 === 0) s = s.slice(0, length >> 1) + "\n" + s.slice(length >> 1);
      if (length % 5 === 0) s = s.slice(0, length >> 2) + "=" + s.slice(length >> 2);
      if (length % 7 === 0) s += "\n";
      vectors.push(s, btoa(String.fromCharCode(...bytesOf(length))));
    }
    for (const s of vectors) {
      expect(
        outcome(() => base64DecodeAsNix(s)),
        JSON.stringify(s),
      ).toEqual(outcome(() => referenceBase64DecodeAsNix(s)));
    }
  });

  it("isCanonicalBase64 says whether encoding the decoded bytes gives the text back", () => {
    const sig = base64Encode(bytesOf(64));
    const vectors = [
      "",
      "Zg==",
      "Zh==",
      "Zg=",
      "Zg",
      "Zg===",
      "Zm8=",
      "Zm9=",
      "Zm9v",
      "Zm9vYg==",
      "Zm9v\nYg==",
      "Zm9vYg\n=",
      sig,
      sig.replace(/=+$/, ""),
      sig.slice(0, -1),
      `${sig}=`,
      `${sig.slice(0, -2)}=x`,
      `${sig.slice(0, 40)}\n${sig.slice(41)}`,
    ];
    // Every last data character of a 64-byte value: only those with no bits under the padding are canonical.
    for (const c of B64) vectors.push(`${sig.slice(0, 85)}${c}==`);
    for (let length = 0; length <= 12; length++) {
      const canonical = base64Encode(bytesOf(length));
      vectors.push(canonical, canonical.replace(/=+$/, ""));
    }
    for (const s of vectors) {
      const bytes = base64DecodeAsNix(s);
      expect(isCanonicalBase64(s, bytes.length), JSON.stringify(s)).toBe(base64Encode(bytes) === s);
      // Read in place after a prefix (a Sig line's name), as parseNarinfo reads it.
      expect(isCanonicalBase64(`key-1:${s}`, bytes.length, 6), JSON.stringify(s)).toBe(base64Encode(bytes) === s);
    }
    expect(vectors.filter((s) => isCanonicalBase64(s, base64DecodeAsNix(s).length)).length).toBeGreaterThan(10);
  });
});

describe("base64DecodeInto", () => {
  it("reads canonical base64 of the buffer's length as base64DecodeAsNix does, and refuses every other text", () => {
    const vectors: [string, number][] = [];
    for (let length = 0; length <= 70; length++) {
      const canonical = base64Encode(bytesOf(length));
      for (const text of [canonical, canonical.replace(/=+$/, ""), `${canonical}=`, canonical.slice(1)]) {
        vectors.push([text, length], [text, length + 1]);
      }
      for (let k = 0; k < 6 && canonical.length > 0; k++) {
        // One character changed: to another of the alphabet (still canonical), to '=', or to one outside it.
        const at = Math.floor(random() * canonical.length);
        vectors.push([canonical.slice(0, at) + textOf(`${B64}=\n*é`, 1) + canonical.slice(at + 1), length]);
      }
    }
    let accepted = 0;
    for (const [text, length] of vectors) {
      // What the function promises to read: the canonical length, the alphabet, then exactly the padding.
      const pad = (3 - (length % 3)) % 3;
      const expected = text.length === Math.ceil(length / 3) * 4 && new RegExp(`^[A-Za-z0-9+/]*={${pad}}$`).test(text);
      for (const prefix of ["", "key-1:"]) {
        const out = new Uint8Array(length);
        const read = base64DecodeInto(prefix + text, prefix.length, out);
        expect(read, JSON.stringify([text, length, prefix])).toBe(expected);
        if (read) expect([...out], JSON.stringify(text)).toEqual([...referenceBase64DecodeAsNix(text)]);
      }
      if (expected) accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
  });
});

describe("parseNarinfo", () => {
  const SIG = PROTOCOL_NARINFO.match(/^Sig: (.*)$/m)![1]!;
  const [NAME, PAYLOAD] = [SIG.slice(0, SIG.indexOf(":")), SIG.slice(SIG.indexOf(":") + 1)];
  const withLine = (line: string) => PROTOCOL_NARINFO.replace(/^Sig: .*$/m, line);
  const served = (text: string) => outcome(() => formatNarinfo(parseNarinfo(text)));

  it.each([
    ["canonical", `Sig: ${SIG}`, [SIG]],
    ["unpadded", `Sig: ${NAME}:${PAYLOAD.replace(/=+$/, "")}`, [SIG]],
    ["one '=' short", `Sig: ${NAME}:${PAYLOAD.slice(0, -1)}`, [SIG]],
    // The last data character with bits under the padding: decodes to the same 64 bytes, served canonical.
    ["bits under the padding", `Sig: ${NAME}:${PAYLOAD.slice(0, 85)}${B64[B64.indexOf(PAYLOAD[85]!) | 1]}==`, [SIG]],
    ["padded and unpadded spellings of one Sig", `Sig: ${SIG}\nSig: ${NAME}:${PAYLOAD.replace(/=+$/, "")}`, [SIG]],
    ["trailing garbage after '='", `Sig: ${SIG}xyz`, [SIG]],
    ["too short", `Sig: ${NAME}:${PAYLOAD.slice(0, 80)}`, []],
  ])("a Sig line %s is kept as Nix writes it", (_name, line, sigs) => {
    expect(parseNarinfo(withLine(line)).sigs).toEqual(sigs);
  });

  it.each([
    ["repeated", "a b a", ["a", "b"]],
    ["repeated, spaces around", "  b a  b ", ["b", "a"]],
    ["one, twice", "a a", ["a"]],
    ["empty", "", []],
  ])("References %s: a set, in file order of first mention", (_name, refs, want) => {
    const base = { a: "d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep", b: "8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app" };
    const value = refs.replace(/[ab]/g, (k) => base[k as "a" | "b"]);
    const n = parseNarinfo(PROTOCOL_NARINFO.replace(/^References: .*$/m, `References: ${value}`));
    expect(n.references.map(storePathBaseName)).toEqual(want.map((k) => base[k as "a" | "b"]));
  });

  it("refuses an invalid reference, also when it is repeated", () => {
    const text = PROTOCOL_NARINFO.replace(/^References: .*$/m, "References: bad-ref bad-ref");
    expect(served(text)).toBe("FormatError(narinfo)");
  });

  it.each([
    ["tab in a known value", PROTOCOL_NARINFO.replace("Compression: xz", "Compression: x\tz"), "FormatError(narinfo)"],
    ["DEL in the URL", PROTOCOL_NARINFO.replace("URL: nar/", "URL: nar/\x7f"), "FormatError(narinfo)"],
    ["CR at a line's end", PROTOCOL_NARINFO.replace("\nNarSize", "\r\nNarSize"), "FormatError(narinfo)"],
    ["tab in an unknown key's value (line dropped)", `${PROTOCOL_NARINFO}Provenance: a\tb\n`, PROTOCOL_NARINFO],
    ["control character in a Sig (Sig dropped)", withLine(`Sig: ${SIG}\nSig: k\x01:${PAYLOAD}`), PROTOCOL_NARINFO],
    ["no control character", `${PROTOCOL_NARINFO}Provenance: {}\n`, `${PROTOCOL_NARINFO}Provenance: {}\n`],
  ])("control characters: %s", (_name, text, want) => {
    expect(served(text)).toBe(want);
  });

  const message = (text: string) => {
    try {
      parseNarinfo(text);
      return "parsed";
    } catch (e) {
      if (e instanceof FormatError) return e.message;
      throw e;
    }
  };
  // Every known field but Sig, a control character at its start, middle and end: the message names the control
  // character, whether the field's value is searched first or only once its parser refused it.
  const line = (key: string) => PROTOCOL_NARINFO.match(new RegExp(`^${key}: (.*)$`, "m"))![1]!;
  const FIELDS = ["StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash", "NarSize", "References"];
  const cases: [string, string][] = [];
  for (const key of [...FIELDS, "Deriver"]) {
    const v = line(key);
    for (const [where, bad] of [
      ["start", `\x01${v}`],
      ["middle", `${v.slice(0, 5)}\t${v.slice(5)}`],
      ["end", `${v}\x7f`],
    ]) {
      cases.push([`${key}, ${where}`, PROTOCOL_NARINFO.replace(`${key}: ${v}`, `${key}: ${bad}`)]);
    }
  }
  cases.push(
    ["System", `${PROTOCOL_NARINFO}System: x86_64\x01linux\n`],
    ["CA", `${PROTOCOL_NARINFO}CA: \x01\n`],
    ["References, a second line", `${PROTOCOL_NARINFO}References: \x01\n`],
    [
      "References, spaces and a tab only",
      PROTOCOL_NARINFO.replace(`References: ${line("References")}`, "References:  \t "),
    ],
    ["Compression, empty but for a tab", PROTOCOL_NARINFO.replace("Compression: xz", "Compression: \t")],
    [
      "NarHash, after the '=' of an SRI hash",
      PROTOCOL_NARINFO.replace(
        `NarHash: ${line("NarHash")}`,
        `NarHash: sha256-${base64Encode(parseNarinfo(PROTOCOL_NARINFO).narHash.bytes)}\x01`,
      ),
    ],
  );
  it.each(cases)("a control character in %s is refused as one", (_name, text) => {
    expect(message(text)).toMatch(/^line \d+: control character$/);
  });
});

describe("narinfoFingerprint", () => {
  const n = parseNarinfo(PROTOCOL_NARINFO);
  const ref = (base: string) => parseStorePathBaseName(base);
  const A = "d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep";
  const B = "8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app";
  const C = "0000000000000000000000000000000a-z";
  const D = "0000000000000000000000000000000a-a";
  it.each([
    ["none", []],
    ["one", [A]],
    ["unsorted", [A, B, C]],
    ["repeated, apart", [A, B, A, C, B]],
    ["same hash, names differ", [C, D, C]],
    ["all the same", [A, A, A]],
  ])("references %s: as the definition writes them", (_name, bases) => {
    const m = { ...n, references: bases.map(ref) };
    expect(narinfoFingerprint(m)).toBe(referenceFingerprint(m));
    expect(narinfoFingerprint(m, "/gnu/store")).toBe(referenceFingerprint(m, "/gnu/store"));
    expectBytes(m, "/gnu/store");
  });

  /** narinfoFingerprintBytes gives the definition's UTF-8, in a buffer of its own and written into a shared one. */
  const shared = new Uint8Array(4096).fill(0xaa);
  function expectBytes(m: Narinfo, storeDir = "/nix/store") {
    const expected = [...new TextEncoder().encode(referenceFingerprint(m, storeDir))];
    expect([...narinfoFingerprintBytes(m, storeDir)]).toEqual(expected);
    const into = narinfoFingerprintBytes(m, storeDir, shared);
    expect(into.buffer).toBe(shared.buffer);
    expect([...into]).toEqual(expected);
    // A buffer too small is left alone.
    const small = new Uint8Array(16);
    const out = narinfoFingerprintBytes(m, storeDir, small);
    expect(out.buffer).not.toBe(small.buffer);
    expect([...out]).toEqual(expected);
    expect([...small]).toEqual(new Array(16).fill(0));
  }

  it("writes any store directory, name and size as the definition's UTF-8, not only what a parse gives", () => {
    const odd: StorePath = { hash: n.storePath.hash, name: "näme-€-\u{1f600}" };
    for (const storeDir of ["/nix/store", "/gnu/störe", "/\u{1f600}"]) {
      for (const narSize of [1, 9, 10, 552, 2 ** 53 - 1, 1.5, 2 ** 60, -3]) {
        expectBytes({ ...n, narSize }, storeDir);
        expectBytes({ ...n, narSize, storePath: odd, references: [odd, ...n.references] }, storeDir);
      }
    }
  });

  it("a lone surrogate is written as the runtime's encoder writes it", () => {
    const m = { ...n, references: [{ hash: n.storePath.hash, name: "a\ud800b" }] };
    expect([...narinfoFingerprintBytes(m)]).toEqual([...new TextEncoder().encode(referenceFingerprint(m))]);
  });

  it("a buffer with room for the characters but not for their UTF-8 is left alone", () => {
    const m = { ...n, storePath: { hash: n.storePath.hash, name: "näme-€-\u{1f600}" } };
    const expected = [...new TextEncoder().encode(referenceFingerprint(m))];
    const chars = narinfoFingerprint(m).length;
    expect(expected.length).toBeGreaterThan(chars + 1);
    const tight = new Uint8Array(chars + 1);
    const out = narinfoFingerprintBytes(m, "/nix/store", tight);
    expect([...out]).toEqual(expected);
  });
});

describe("formatNarinfo keeps a hash's own spelling exactly when the definition does", () => {
  const ALGOS = { md5: 16, sha1: 20, sha256: 32, sha512: 64 } as const;
  for (const [algo, size] of Object.entries(ALGOS)) {
    const bytes = bytesOf(size);
    const b64 = base64Encode(bytes);
    const forms = {
      base16: `${algo}:${base16Encode(bytes)}`,
      "base16, upper case": `${algo}:${base16Encode(bytes).toUpperCase()}`,
      nix32: `${algo}:${nix32Encode(bytes)}`,
      base64: `${algo}:${b64}`,
      SRI: `${algo}-${b64}`,
      "SRI, unpadded": `${algo}-${b64.replace(/=+$/, "")}`,
    };
    for (const [name, text] of Object.entries(forms)) {
      it(`${algo}, ${name}`, () => {
        const h = parseNixHash(text);
        const out = formatNarinfo(parseNarinfo(PROTOCOL_NARINFO.replace(/^FileHash: .*$/m, `FileHash: ${text}`)));
        expect(out).toContain(`\nFileHash: ${referenceHashText(h, text)}\n`);
      });
    }
  }
});

describe("parseNixHash reads `sha256:<nix32>` in place, as the general path reads it", () => {
  /** The general path for an `algo:` text, as parseNixHash read every hash before its fast path. */
  function referenceParseNixHash(s: string): NixHash {
    const colon = s.indexOf(":");
    const algo = s.slice(0, colon);
    try {
      return { algo: algo as NixHash["algo"], bytes: nix32Decode(s.slice(colon + 1)) };
    } catch (e) {
      if (e instanceof FormatError) throw new FormatError("hash", `bad ${algo} digest: ${e.message}`);
      throw e;
    }
  }
  const result = (f: () => NixHash) => {
    try {
      const h = f();
      // formatNixHash of the reference's plain hash encodes its bytes; of the fast path's, gives the text it kept.
      return { algo: h.algo, bytes: [...h.bytes], text: formatNixHash(h) };
    } catch (e) {
      if (e instanceof FormatError) return `${e.what}: ${e.message}`;
      throw e;
    }
  };
  it("gives the same hash or the same message, for valid digests and every kind of broken one", () => {
    const vectors: string[] = [];
    for (let k = 0; k < 200; k++) {
      const digits = nix32Encode(bytesOf(32));
      const at = Math.floor(random() * 52);
      // A character changed (to a digit, one outside the alphabet, a separator) or the first one set (its top bits
      // are beyond the 256 of the hash).
      const changed = textOf(`${NIX32}eotu:-=\né`, 1);
      vectors.push(`sha256:${digits}`, `sha256:${digits.slice(0, at)}${changed}${digits.slice(at + 1)}`);
      vectors.push(`sha256:${textOf(NIX32, 1)}${digits.slice(1)}`);
    }
    let valid = 0;
    for (const s of vectors) {
      const got = result(() => parseNixHash(s));
      expect(got, s).toEqual(result(() => referenceParseNixHash(s)));
      if (typeof got !== "string") valid++;
    }
    expect(valid).toBeGreaterThan(200);
    expect(vectors.length - valid).toBeGreaterThan(100);
  });

  it("refuses a character outside the alphabet at every one of the 52 positions", () => {
    const digits = nix32Encode(bytesOf(32));
    for (let at = 0; at < 52; at++) {
      for (const bad of ["e", "o", "u", "t", "A", ":", "-", "=", "\n", "é", "\ud800"]) {
        const s = `sha256:${digits.slice(0, at)}${bad}${digits.slice(at + 1)}`;
        const got = result(() => parseNixHash(s));
        expect(typeof got, s).toBe("string");
        expect(got, s).toEqual(result(() => referenceParseNixHash(s)));
      }
    }
  });
});

describe("verifyNarinfo decodes only trusted keys' Sigs, with the same verdicts", () => {
  const pk = parsePublicKey(NIX_TEST_PUBLIC_KEY);
  const signed = parseNarinfo(NIX_SIGNED_WITH_REFERENCE);
  const good = signed.sigs[0]!;
  const name = good.slice(0, good.indexOf(":"));
  const other = `other-key-1:${good.slice(good.indexOf(":") + 1)}`;
  const malformedTrusted = `${name}:AAAA`;
  const forged = `${name}:${base64Encode(new Uint8Array(64))}`;
  const cases: [string, string[], PublicKey[], string][] = [
    ["no Sig", [], [pk], "unsigned"],
    ["only a malformed one", ["garbage"], [pk], "unsigned"],
    ["only a malformed one by the trusted name", [malformedTrusted], [pk], "unsigned"],
    ["a malformed trusted one and a well-formed other", [malformedTrusted, other], [pk], "no-trusted-key"],
    ["only another key's", [other], [pk], "no-trusted-key"],
    ["no trusted keys at all", [good], [], "no-trusted-key"],
    ["a forged one by the trusted name", [forged], [pk], "bad-signature"],
    ["a malformed trusted one before a good one", [malformedTrusted, good], [pk], "valid"],
    ["another key's, then a good one", [other, good], [pk], "valid"],
    ["a forged one, then a good one", [forged, good], [pk], "valid"],
    ["a good one, the key listed twice", [good], [pk, pk], "valid"],
  ];
  it.each(cases)("%s", async (_name, sigs, keys, want) => {
    const v = await verifyNarinfo(withSignatures(signed, sigs), keys);
    expect(v.valid ? "valid" : v.reason).toBe(want);
  });

  it("verifies what it signs, many times over (the imported key is reused)", async () => {
    const sk = parseSecretKey(NIX_TEST_SECRET_KEY);
    const n = parseNarinfo(PROTOCOL_NARINFO);
    const sig = await signNarinfo(n, sk);
    for (let i = 0; i < 3; i++) {
      expect(await verifyNarinfo(withSignatures(n, [sig]), [pk])).toEqual({ valid: true, keyName: name });
      expect((await verifyNarinfo({ ...withSignatures(n, [sig]), narSize: n.narSize + 1 }, [pk])).valid).toBe(false);
    }
  });
});

describe("store paths read in place", () => {
  it("parseStorePathName and parseStorePathBaseName agree with the expressions they replace", () => {
    const NAME = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+-._?=";
    const names = ["", ".", "..", "...", ".-", "..-", ".-x", "..-x", "...-", ".a", "a.", "-", "x".repeat(211)];
    names.push("x".repeat(212), "a b", "a\tb", "é", "a/b", "a\u0100", ".\n", "..\x00");
    for (let i = 0; i < 300; i++) {
      const length = 1 + Math.floor(random() * 6);
      // Mostly name characters, with the dots and dashes the special rules are about, now and then anything.
      names.push(textOf(random() < 0.2 ? "./-a\x01 é" : random() < 0.5 ? ".-a" : NAME, length));
    }
    for (const name of names) {
      expect(
        result(() => parseStorePathName(name)),
        JSON.stringify(name),
      ).toEqual(result(() => referenceParseStorePathName(name)));
      for (const hash of [textOf(NIX32, 32), textOf(NIX32, 31) + "e", textOf(NIX32, 31), "A".repeat(32)]) {
        for (const base of [`${hash}-${name}`, `${hash}${name}`, hash]) {
          expect(
            result(() => parseStorePathBaseName(base)),
            JSON.stringify(base),
          ).toEqual(result(() => referenceParseStorePathBaseName(base)));
          for (const dir of ["/nix/store", "/gnu/store", "/"]) {
            for (const path of [`${dir}/${base}`, `${dir}${base}`, `${dir}//${base}`, dir]) {
              expect(
                result(() => parseStorePath(path, dir)),
                JSON.stringify(path),
              ).toEqual(result(() => referenceParseStorePath(path, dir)));
            }
          }
        }
      }
    }
    expect(names.filter((name) => result(() => parseStorePathName(name)) === name).length).toBeGreaterThan(100);
  });
});

describe("Sig lines checked without decoding", () => {
  it("base64LengthAsNix gives base64DecodeAsNix's length, or -1 where it throws", () => {
    const vectors = ["", "=", "Zg", "Zg==", "Zm9v\nYg", "Zm9v Yg", "Zm9vé", "Zm-_", "=Zm9v", "Zm9vYg=garbage!"];
    for (let length = 0; length < 100; length++) {
      let s = random() < 0.5 ? textOf(B64, length) : base64Encode(bytesOf(length));
      if (random() < 0.3) s = s.slice(0, length >> 1) + textOf("\n=*é \x01", 1) + s.slice(length >> 1);
      vectors.push(s);
    }
    for (const s of vectors) {
      for (const start of [0, 1, 3]) {
        const decoded = outcome(() => base64DecodeAsNix(s.slice(start)));
        expect(base64LengthAsNix(s, start), JSON.stringify([s, start])).toBe(
          decoded instanceof Uint8Array ? decoded.length : -1,
        );
      }
    }
  });

  it("isWellFormedSignature says whether parseSignature accepts the line", () => {
    const payload = base64Encode(bytesOf(64));
    const vectors = ["", ":", `:${payload}`, payload, `k:${payload}`, `k:${payload.replace(/=+$/, "")}`];
    // Every kind of whitespace \s knows, control characters, and printable characters either side of them.
    for (const c of [" ", "\t", "\n", "\v", "\f", "\r", "\u00a0", "\u1680", "\u2000", "\u2028", "\u3000", "\ufeff"]) {
      vectors.push(`k${c}ey:${payload}`, `${c}:${payload}`);
    }
    for (const c of ["\x00", "\x1f", "\x7f", "\x80", "!", "~", "é", "\u0100", "="]) vectors.push(`k${c}:${payload}`);
    for (let length = 60; length <= 68; length++) vectors.push(`key-1:${base64Encode(bytesOf(length))}`);
    for (let i = 0; i < 200; i++) {
      const name = textOf("ab-1.\u00a0 :\x01é", Math.floor(random() * 4));
      let body = base64Encode(bytesOf(62 + Math.floor(random() * 5)));
      if (random() < 0.3) body = body.replace(/=+$/, "");
      if (random() < 0.3) body = body.slice(0, 40) + textOf("\n=*é ", 1) + body.slice(40);
      vectors.push(`${name}:${body}`);
    }
    for (const s of vectors) {
      expect(isWellFormedSignature(s), JSON.stringify(s)).toBe(
        typeof outcome(() => referenceParseSignature(s)) !== "string",
      );
      expect(outcome(() => parseSignature(s))).toEqual(outcome(() => referenceParseSignature(s)));
    }
    expect(vectors.filter(isWellFormedSignature).length).toBeGreaterThan(15);
    expect(vectors.filter((v) => !isWellFormedSignature(v)).length).toBeGreaterThan(100);
  });
});

describe("parseNarinfo reads the text in place exactly as the split-into-lines definition", () => {
  const BENCH_LIKE = (refs: string[]) =>
    [
      `StorePath: /nix/store/${refs[0] ?? "p5gijqp7kyjln2qid6ff9rldfc9x9sqh-bench-path-0"}`,
      "URL: nar/1czf4m8q9awpi4ms05n5nfj1xkl16xx0v03x96di95yfk8m86zyk.nar.zst",
      "Compression: zstd",
      "FileHash: sha256:1czf4m8q9awpi4ms05n5nfj1xkl16xx0v03x96di95yfk8m86zyk",
      "FileSize: 1559751",
      "NarHash: sha256:1wdrl6zlkj99va21h8734iz6cg5qx17zxmknh9c1s231cq4w8fi3",
      "NarSize: 4679255",
      `References: ${refs.join(" ")}`,
      "Deriver: yrmghj989ydv2cidi1sqcb0n00n58mm4-bench-path-0.drv",
      `Sig: ${parseNarinfo(NIX_SIGNED_WITH_REFERENCE).sigs[0]!}`,
      "",
    ].join("\n");
  const basePath = () => `${textOf(NIX32, 32)}-dep-${textOf("abc.-", 1 + Math.floor(random() * 3))}`;
  /** References lists of every size around the point where de-duplication changes method, with repeats. */
  const referenceLists = () => {
    const lists: string[][] = [];
    for (const count of [0, 1, 2, 6, FEW_REFERENCES - 1, FEW_REFERENCES, FEW_REFERENCES + 1, 40]) {
      const pool = Array.from({ length: count }, basePath);
      lists.push(
        pool,
        pool.concat(pool.slice(0, 3)),
        pool.flatMap((p) => (random() < 0.3 ? [p, p] : [p])),
      );
    }
    return lists;
  };
  const texts: string[] = [PROTOCOL_NARINFO, NIX_SIGNED_WITH_REFERENCE, NIX_SIGNED_CONTENT_ADDRESSED];
  for (const refs of referenceLists()) texts.push(BENCH_LIKE(refs));
  const mutate = (text: string): string => {
    const lines = text.split("\n");
    const i = Math.floor(random() * lines.length);
    const line = lines[i]!;
    const at = Math.floor(random() * (line.length + 1));
    switch (Math.floor(random() * 9)) {
      case 0: // a character of interest somewhere in a line
        lines[i] = line.slice(0, at) + textOf("\x00\t\r\x7f :=+-/. aé0z", 1) + line.slice(at);
        break;
      case 1: // a character gone
        lines[i] = line.slice(0, at) + line.slice(at + 1);
        break;
      case 2: // a line twice, or gone
        lines.splice(i, random() < 0.5 ? 0 : 1, ...(random() < 0.5 ? [line] : []));
        break;
      case 3: // an unknown key, writable or not
        lines.splice(i, 0, `${textOf("Xx-1 :é", 1 + Math.floor(random() * 5))}: ${textOf("ab\x01 ", 3)}`);
        break;
      case 4: // a size
        lines[i] = `${random() < 0.5 ? "NarSize" : "FileSize"}: ${textOf("+-0123456789 ", Math.floor(random() * 20))}`;
        break;
      case 5: // a size near 2^53
        lines[i] = `NarSize: ${["9007199254740991", "9007199254740992", "09007199254740993", "+1", "1e3"][at % 5]}`;
        break;
      case 6: // the final newline
        return text.endsWith("\n") ? text.slice(0, -1) : `${text}\n`;
      case 7: // a Compression
        lines[i] = `Compression: ${["", "xz", "zstd", "x z", "gzip\r", "bzip2"][at % 6]}`;
        break;
      default: // a store path or hash in another spelling
        lines[i] = [
          `StorePath: /nix/store/${basePath()}`,
          `StorePath: /nix/store//${basePath()}`,
          `Deriver: ${basePath()}.drv`,
          "Deriver: unknown-deriver",
          `NarHash: sha256-${base64Encode(bytesOf(32)).replace(/=+$/, "")}`,
          `FileHash: sha256:${base16Encode(bytesOf(32))}`,
          `CA: fixed:r:sha256:${nix32Encode(bytesOf(32))}`,
          "CA: ",
        ][at % 8]!;
    }
    return lines.join("\n");
  };
  for (const text of [...texts]) {
    let t = text;
    for (let k = 0; k < 60; k++) {
      t = random() < 0.3 ? text : t;
      t = mutate(t);
      texts.push(t);
    }
  }
  texts.push("", "\n", "\n\n", "a", "a:", "a: ", ":", ": x", "StorePath", "x".repeat(MAX_NARINFO_LENGTH + 1));

  it(`${texts.length} texts: the same narinfo, or the same error message`, () => {
    for (const text of texts) {
      expect(
        result(() => parseNarinfo(text)),
        JSON.stringify(text),
      ).toEqual(result(() => referenceParseNarinfo(text)));
      expect(result(() => parseNarinfo(text, "/gnu/store"))).toEqual(
        result(() => referenceParseNarinfo(text, "/gnu/store")),
      );
    }
    // Both kinds of outcome are there, and many different errors.
    const outcomes = texts.map((t) => result(() => parseNarinfo(t)));
    expect(outcomes.filter((o) => typeof o !== "string").length).toBeGreaterThan(150);
    expect(new Set(outcomes.filter((o) => typeof o === "string")).size).toBeGreaterThan(30);
  });
});

describe("parseNarinfo searches StorePath for control characters only in the store directory", () => {
  // The rest of a store path is checked character by character; only the configured directory is taken as given.
  it.each(["/nix/st\tore", "/nix/store\x7f", "\x01", "/nix/store"])("store directory %j", (dir) => {
    for (const text of [PROTOCOL_NARINFO, NIX_SIGNED_WITH_REFERENCE]) {
      const moved = text.replace("StorePath: /nix/store/", `StorePath: ${dir}/`);
      expect(result(() => parseNarinfo(moved, dir))).toEqual(result(() => referenceParseNarinfo(moved, dir)));
    }
    const moved = PROTOCOL_NARINFO.replace("StorePath: /nix/store/", `StorePath: ${dir}/`);
    expect(typeof result(() => parseNarinfo(moved, dir))).toBe(dir === "/nix/store" ? "object" : "string");
  });
});

describe("narinfoFingerprint sorts few references by insertion, more with the runtime's sort", () => {
  const n = parseNarinfo(PROTOCOL_NARINFO);
  // Hashes that are not 32 nix32 characters never come from a parse; those here hold characters ordered before the
  // '-' that follows a hash, where comparing hashes alone would give another order than comparing base names.
  const path = (hashLength = 32): StorePath => ({
    hash: hashLength === 32 ? textOf(NIX32.slice(0, 3), 32) : textOf("0+,", hashLength),
    name: textOf("ab", 1 + Math.floor(random() * 2)),
  });
  it("in the same order as the definition, at every count around the switch, with repeats and shared hashes", () => {
    for (let count = 0; count <= FEW_TO_SORT + 3; count++) {
      for (let k = 0; k < 20; k++) {
        // A three-letter alphabet: hashes and names collide often. Now and then a hash of another length (never
        // from a parse, but the order must still be the base names').
        const refs = Array.from({ length: count }, () => path(random() < 0.3 ? 1 + Math.floor(random() * 2) : 32));
        const m = { ...n, references: refs.concat(refs.filter(() => random() < 0.2)) };
        expect(narinfoFingerprint(m)).toBe(referenceFingerprint(m));
        expect([...narinfoFingerprintBytes(m)]).toEqual([...new TextEncoder().encode(referenceFingerprint(m))]);
      }
    }
  });
});

describe("verifyNarinfo writes every fingerprint into one reused buffer", () => {
  const sk = parseSecretKey(NIX_TEST_SECRET_KEY);
  const pk = parsePublicKey(NIX_TEST_PUBLIC_KEY);
  const base = parseNarinfo(PROTOCOL_NARINFO);
  // Fingerprints of different lengths, one with a non-ASCII store directory and one too long for the shared buffer.
  const many = Array.from({ length: 400 }, (_, i) => parseStorePathBaseName(`${nix32Encode(bytesOf(20))}-r${i}`));
  const cases: [Narinfo, string][] = [
    [{ ...base, narSize: 1 }, "/nix/store"],
    [{ ...base, narSize: 2 }, "/gnu/störe"],
    [{ ...base, narSize: 3, references: many }, "/nix/store"],
    [{ ...base, narSize: 4, references: [] }, "/nix/store"],
  ];
  it("verifies calls made back to back, each over its own fingerprint", async () => {
    const signed = await Promise.all(cases.map(async ([m, dir]) => withSignatures(m, [await signNarinfo(m, sk, dir)])));
    await verifyNarinfo(signed[0]!, [pk]); // the key imported
    // All started before any is awaited: each must have taken its bytes when it was called.
    const verify = (m: Narinfo, i: number) => verifyNarinfo(m, [pk], cases[i]![1]);
    const verdicts = signed.map(verify);
    const crossed = signed.map((m, i) => verify(withSignatures(m, signed[(i + 1) % signed.length]!.sigs), i));
    expect((await Promise.all(verdicts)).map((r) => r.valid)).toEqual([true, true, true, true]);
    expect((await Promise.all(crossed)).map((r) => r.valid)).toEqual([false, false, false, false]);
  });
});
