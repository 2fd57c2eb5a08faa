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
  fromCharCodes,
  isCanonicalBase64,
} from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";
import { narinfoFingerprint } from "../../src/narinfo/fingerprint";
import { formatNixHash, parseNixHash, type NixHash } from "../../src/narinfo/hash";
import { parsePublicKey, parseSecretKey, type PublicKey } from "../../src/narinfo/keys";
import { formatNarinfo, parseNarinfo, withSignatures, type Narinfo } from "../../src/narinfo/narinfo";
import { isNix32, nix32Decode, nix32Encode } from "../../src/narinfo/nix32";
import { signNarinfo, verifyNarinfo } from "../../src/narinfo/signature";
import { formatStorePath, parseStorePathBaseName, storePathBaseName } from "../../src/narinfo/storePath";
import { NIX_SIGNED_WITH_REFERENCE, NIX_TEST_PUBLIC_KEY, NIX_TEST_SECRET_KEY, PROTOCOL_NARINFO } from "./nixVectors";

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
  return `1;${formatStorePath(n.storePath, storeDir)};${formatNixHash(n.narHash)};${n.narSize};${refs.join(",")}`;
}

function referenceHashText(h: NixHash, text: string): string {
  const b64 = base64Encode(h.bytes);
  const forms = [`${h.algo}:${base16Encode(h.bytes)}`, formatNixHash(h), `${h.algo}:${b64}`, `${h.algo}-${b64}`];
  return forms.includes(text) ? text : formatNixHash(h);
}

// --- vectors ---

describe("nix32", () => {
  it("isNix32 accepts exactly what nix32Decode accepts", () => {
    const vectors = ["", "0", "00", "z", "zz", "e", "A", "é", "\u0100", " ", "0".repeat(32), "0".repeat(33)];
    // Every digit in first place (it carries the bits beyond the last byte) at each hash length, and near them.
    for (const length of [1, 2, 8, 25, 26, 27, 32, 51, 52, 53, 103, 104]) {
      for (const first of NIX32) vectors.push(first + textOf(NIX32, length - 1));
      vectors.push(textOf(NIX32, length - 1) + "e", "t" + textOf(NIX32, length - 1), textOf(NIX32, length) + "\n");
    }
    for (let length = 0; length <= 120; length++) vectors.push(textOf(NIX32, length));
    for (const s of vectors) expect(isNix32(s), JSON.stringify(s)).toBe(referenceIsNix32(s));
    // Not all one answer: both kinds of vector are there.
    expect(vectors.filter(isNix32).length).toBeGreaterThan(100);
    expect(vectors.filter((s) => !isNix32(s)).length).toBeGreaterThan(100);
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
    }
    expect(vectors.filter((s) => isCanonicalBase64(s, base64DecodeAsNix(s).length)).length).toBeGreaterThan(10);
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
