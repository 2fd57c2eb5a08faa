import { describe, expect, it } from "vitest";
import { FormatError } from "../../src/narinfo/errors";
import {
  formatPublicKey,
  parsePublicKey,
  parseSecretKey,
  parseTrustedPublicKeys,
  secretKeyPublicKey,
} from "../../src/narinfo/keys";
import { CACHE_NIXOS_ORG_KEY, NIX_TEST_PUBLIC_KEY, NIX_TEST_SECRET_KEY } from "./nixVectors";

describe("public keys", () => {
  it("parses cache.nixos.org's key", () => {
    const k = parsePublicKey(CACHE_NIXOS_ORG_KEY);
    expect(k.name).toBe("cache.nixos.org-1");
    expect(k.key.length).toBe(32);
    expect(formatPublicKey(k)).toBe(CACHE_NIXOS_ORG_KEY);
  });

  it("rejects malformed keys", () => {
    for (const s of [
      "",
      "cache.nixos.org-1",
      ":6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
      "cache.nixos.org-1:",
      "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY", // unpadded
      "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDSh===",
      "cache.nixos.org-1:AAAA", // 3 bytes
      NIX_TEST_SECRET_KEY, // 64 bytes is a secret key
      "cache nixos:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
    ]) {
      expect(() => parsePublicKey(s), s).toThrow(FormatError);
    }
  });

  it("reports what = public key", () => {
    try {
      parsePublicKey("x:AAAA");
      expect.unreachable();
    } catch (e) {
      expect((e as FormatError).what).toBe("public key");
    }
  });
});

describe("trusted-public-keys", () => {
  it("splits on any whitespace, as nix.conf does", () => {
    expect(parseTrustedPublicKeys("")).toEqual([]);
    expect(parseTrustedPublicKeys("  \n ")).toEqual([]);
    const keys = parseTrustedPublicKeys(` ${CACHE_NIXOS_ORG_KEY}\n\t${NIX_TEST_PUBLIC_KEY} `);
    expect(keys.map((k) => k.name)).toEqual(["cache.nixos.org-1", "edge-test-1"]);
  });

  it("fails on one bad key rather than dropping it", () => {
    expect(() => parseTrustedPublicKeys(`${CACHE_NIXOS_ORG_KEY} bogus`)).toThrow(FormatError);
  });
});

describe("secret keys", () => {
  it("splits a Nix secret key into seed and public key", () => {
    const sk = parseSecretKey(NIX_TEST_SECRET_KEY);
    expect(sk.name).toBe("edge-test-1");
    expect(sk.seed.length).toBe(32);
    expect(formatPublicKey(secretKeyPublicKey(sk))).toBe(NIX_TEST_PUBLIC_KEY);
  });

  it("tolerates a trailing newline from a key file", () => {
    expect(parseSecretKey(NIX_TEST_SECRET_KEY + "\n").name).toBe("edge-test-1");
  });

  it("rejects public keys and garbage", () => {
    for (const s of [NIX_TEST_PUBLIC_KEY, "edge-test-1", "edge-test-1:", ":AAAA"]) {
      expect(() => parseSecretKey(s), s).toThrow(FormatError);
    }
  });
});
