import { describe, expect, it } from "vitest";
import { base16Decode } from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";
import { formatNixHash, hashesEqual, parseNixHash } from "../../src/narinfo/hash";

// sha256("abc") as Nix 2.8.0 prints it: nix-hash --flat [--base32], nix hash to-sri.
const HEX = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const NIX32 = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
const B64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

describe("parseNixHash", () => {
  const expected = { algo: "sha256", bytes: base16Decode(HEX) };

  it("accepts every form Nix accepts, choosing the encoding by length", () => {
    for (const s of [
      `sha256:${NIX32}`,
      `sha256:${HEX}`,
      `sha256:${HEX.toUpperCase()}`,
      `sha256:${B64}`,
      `sha256-${B64}`,
    ]) {
      expect(parseNixHash(s), s).toEqual(expected);
    }
  });

  it("formats as algo:nix32", () => {
    expect(formatNixHash(parseNixHash(`sha256-${B64}`))).toBe(`sha256:${NIX32}`);
  });

  it("handles the other algorithms with their own lengths", () => {
    const sha1 = parseNixHash("sha1:kpcd173cq987hw957sx6m0868wv3x6d9");
    expect(sha1).toEqual({ algo: "sha1", bytes: base16Decode("a9993e364706816aba3e25717850c26c9cd0d89d") });
    expect(parseNixHash("sha1:a9993e364706816aba3e25717850c26c9cd0d89d")).toEqual(sha1);
    const md5 = parseNixHash("md5:900150983cd24fb0d6963f7d28e17f72");
    expect(formatNixHash(md5)).toBe("md5:3jgzhjhz9zjvbb0kyj7jc500ch");
    const sha512 = parseNixHash(
      "sha512:2gs8k559z4rlahfx0y688s49m2vvszylcikrfinm30ly9rak69236nkam5ydvly1ai7xac99vxfc4ii84hawjbk876blyk1jfhkbbyx",
    );
    expect(sha512.bytes.length).toBe(64);
  });

  it("rejects malformed hashes", () => {
    for (const s of [
      NIX32, // no algorithm
      "",
      `sha384:${NIX32}`,
      `blake3:${NIX32}`, // experimental in Nix
      `SHA256:${NIX32}`,
      `sha256:${NIX32.slice(1)}`, // 51 characters: no encoding has that length
      `sha256:${HEX.slice(2)}`,
      `sha256:e${NIX32.slice(1)}`, // bad nix32 character
      `sha256:z${NIX32.slice(1)}`, // nix32 overflow
      `sha256:g${HEX.slice(1)}`, // bad hex
      `sha256:${B64.replace("=", "A")}`, // 44 chars, not canonical base64
      `sha256-${NIX32}`, // SRI is base64 only
      `sha256-${B64.slice(4)}`,
      `sha1:${NIX32}`, // right encoding, wrong algorithm length
      `sha256: ${NIX32}`,
    ]) {
      expect(() => parseNixHash(s), s).toThrow(FormatError);
    }
  });

  it("reports what = hash", () => {
    try {
      parseNixHash(`sha256:e${NIX32.slice(1)}`);
      expect.unreachable();
    } catch (e) {
      expect((e as FormatError).what).toBe("hash");
    }
  });
});

describe("hashesEqual", () => {
  it("compares algorithm and bytes", () => {
    const a = parseNixHash(`sha256:${NIX32}`);
    expect(hashesEqual(a, parseNixHash(`sha256:${HEX}`))).toBe(true);
    expect(hashesEqual(a, { algo: "sha256", bytes: new Uint8Array(32) })).toBe(false);
    expect(hashesEqual({ algo: "sha1", bytes: new Uint8Array(20) }, { algo: "md5", bytes: new Uint8Array(20) })).toBe(
      false,
    );
  });
});
