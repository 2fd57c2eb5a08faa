import { describe, expect, it } from "vitest";
import { base16Decode, base16Encode } from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";
import { isNix32Digits, nix32Decode, nix32EncodedLength, nix32Encode } from "../../src/narinfo/nix32";

// Printed by Nix 2.8.0: `nix-hash --type <algo> --flat --base32 <file>` and without --base32 for hex.
const VECTORS: { algo: string; input: string; nix32: string; hex: string }[] = [
  { algo: "MD5", input: "", nix32: "3y8bwfr609h3lh9ch0izcqq7fl", hex: "d41d8cd98f00b204e9800998ecf8427e" },
  { algo: "MD5", input: "abc", nix32: "3jgzhjhz9zjvbb0kyj7jc500ch", hex: "900150983cd24fb0d6963f7d28e17f72" },
  {
    algo: "SHA-1",
    input: "",
    nix32: "143xibwh31h9bvxzalr0sjvbbvpa6ffs",
    hex: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
  },
  {
    algo: "SHA-1",
    input: "abc",
    nix32: "kpcd173cq987hw957sx6m0868wv3x6d9",
    hex: "a9993e364706816aba3e25717850c26c9cd0d89d",
  },
  {
    algo: "SHA-256",
    input: "",
    nix32: "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
    hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  },
  {
    algo: "SHA-256",
    input: "abc",
    nix32: "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s",
    hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  },
  {
    algo: "SHA-512",
    input: "abc",
    nix32: "2gs8k559z4rlahfx0y688s49m2vvszylcikrfinm30ly9rak69236nkam5ydvly1ai7xac99vxfc4ii84hawjbk876blyk1jfhkbbyx",
    hex:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  },
];

describe("nix32", () => {
  for (const v of VECTORS) {
    it(`encodes and decodes ${v.algo}("${v.input}") as Nix prints it`, () => {
      const bytes = base16Decode(v.hex);
      expect(nix32Encode(bytes)).toBe(v.nix32);
      expect(base16Encode(nix32Decode(v.nix32))).toBe(v.hex);
      expect(isNix32Digits(v.nix32, 0, v.nix32.length)).toBe(true);
    });
  }

  it("matches digests computed here, not only remembered ones", async () => {
    for (const v of VECTORS.filter((v) => v.algo !== "MD5")) {
      const digest = new Uint8Array(await crypto.subtle.digest(v.algo, new TextEncoder().encode(v.input)));
      expect(nix32Encode(digest)).toBe(v.nix32);
    }
  });

  it("has Nix's lengths: md5 26, sha1 32 (a store path hash), sha256 52, sha512 103", () => {
    expect([16, 20, 32, 64].map(nix32EncodedLength)).toEqual([26, 32, 52, 103]);
    expect(nix32Encode(new Uint8Array(0))).toBe("");
    expect(nix32Decode("")).toEqual(new Uint8Array(0));
  });

  it("encodes from the last byte: the first character carries the top bits of the last byte", () => {
    const bytes = new Uint8Array(32);
    bytes[31] = 0x80;
    expect(nix32Encode(bytes)).toBe("1" + "0".repeat(51));
    bytes[31] = 0;
    bytes[0] = 1;
    expect(nix32Encode(bytes)).toBe("0".repeat(51) + "1");
  });

  it("round-trips random bytes of every length", () => {
    for (let n = 0; n <= 70; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      expect(nix32Decode(nix32Encode(bytes))).toEqual(bytes);
    }
  });

  it("rejects characters outside the alphabet (no e, o, u, t, no upper case)", () => {
    const good = VECTORS[4]!.nix32;
    for (const c of ["e", "o", "u", "t", "A", "-", " ", "é", "\0"]) {
      const bad = c + good.slice(1);
      expect(() => nix32Decode(bad)).toThrow(FormatError);
      expect(isNix32Digits(bad, 0, bad.length)).toBe(false);
    }
  });

  it("rejects set bits beyond the last byte, as Nix's hash parser does", () => {
    // 52 digits hold 260 bits; a sha256 uses 256, so the first digit may only be 0 or 1.
    expect(nix32Decode("1" + "0".repeat(51))[31]).toBe(0x80);
    for (const c of ["2", "z"]) {
      expect(() => nix32Decode(c + "0".repeat(51))).toThrow(/beyond the last byte/);
    }
  });

  it("rejects lengths that no byte string encodes to", () => {
    // 53 characters are valid: they encode 33 bytes.
    for (const s of ["0", "000", "0".repeat(51), "0".repeat(54)]) {
      expect(() => nix32Decode(s)).toThrow(FormatError);
    }
  });

  it("throws FormatError with what = nix32", () => {
    try {
      nix32Decode("e");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      expect((e as FormatError).kind).toBe("format");
      expect((e as FormatError).what).toBe("nix32");
    }
  });
});
