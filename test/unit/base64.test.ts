import { describe, expect, it } from "vitest";
import { base16Decode, base16Encode, base64Decode, base64DecodeAsNix, base64Encode } from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";

const enc = (s: string) => new TextEncoder().encode(s);

describe("base64", () => {
  // RFC 4648 §10 test vectors.
  const RFC = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ] as const;
  for (const [plain, b64] of RFC) {
    it(`"${plain}" <-> "${b64}"`, () => {
      expect(base64Encode(enc(plain))).toBe(b64);
      expect(base64Decode(b64)).toEqual(enc(plain));
    });
  }

  it("uses the standard alphabet (+ and /), agreeing with btoa", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const expected = btoa(String.fromCharCode(...bytes));
    expect(base64Encode(bytes)).toBe(expected);
    expect(base64Decode(expected)).toEqual(bytes);
  });

  it("rejects anything but canonical padded base64", () => {
    for (const s of [
      "Zg",
      "Zg=",
      "Zg===",
      "Zh==",
      "Zm9=",
      "Z===",
      "=Zm9",
      "Zm=v",
      "Zm9v\n",
      " Zm9v",
      "Zm-_",
      "Zm9v Zm9v",
    ]) {
      expect(() => base64Decode(s), s).toThrow(FormatError);
    }
  });
});

describe("base64 as Nix reads narinfo hashes and signatures", () => {
  it("reads padded and unpadded text alike, and stops at the first '='", () => {
    for (const s of ["Zm9vYg==", "Zm9vYg", "Zm9vYg=", "Zm9vYg=garbage!", "Zm9v\nYg"]) {
      expect(base64DecodeAsNix(s), s).toEqual(enc("foob"));
    }
    expect(base64DecodeAsNix("")).toEqual(new Uint8Array(0));
  });

  it("drops leftover bits, as Nix does", () => {
    expect(base64DecodeAsNix("Zh==")).toEqual(enc("f"));
  });

  it("rejects characters outside the alphabet before any '='", () => {
    for (const s of ["Zm9v Yg", "Zm-_", "Zm9v*", "Zm9vé"]) expect(() => base64DecodeAsNix(s), s).toThrow(FormatError);
  });
});

describe("base16", () => {
  it("decodes either case, as Nix does, and encodes lower case", () => {
    expect(base16Decode("00ffAb")).toEqual(Uint8Array.from([0, 255, 0xab]));
    expect(base16Encode(Uint8Array.from([0, 255, 0xab]))).toBe("00ffab");
  });

  it("rejects odd lengths and non-hex", () => {
    for (const s of ["0", "0g", "+1", " 1"]) expect(() => base16Decode(s)).toThrow(FormatError);
  });
});
