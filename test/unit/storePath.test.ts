import { describe, expect, it } from "vitest";
import { FormatError } from "../../src/narinfo/errors";
import {
  STORE_DIR,
  formatStorePath,
  parseStorePath,
  parseStorePathBaseName,
  parseStorePathHash,
  parseStorePathName,
  storePathBaseName,
} from "../../src/narinfo/storePath";

const HASH = "8bxrx1z5h8ahx4wg51pp3gkni4q6xcai";

describe("store path hash", () => {
  it("accepts 32 nix32 characters", () => {
    expect(parseStorePathHash(HASH)).toBe(HASH);
    expect(parseStorePathHash("0".repeat(32))).toBe("0".repeat(32));
  });

  it("rejects other lengths and characters", () => {
    for (const s of [
      "",
      HASH.slice(1),
      HASH + "0",
      "e" + HASH.slice(1),
      HASH.toUpperCase(),
      "t" + HASH.slice(1),
      "/" + HASH.slice(1),
    ]) {
      expect(() => parseStorePathHash(s), s).toThrow(FormatError);
    }
  });
});

describe("store path name", () => {
  it("accepts Nix's character set up to 211 characters", () => {
    for (const s of [
      "hello-2.12.1",
      "a",
      "x".repeat(211),
      "gcc-13+git_x?y=z",
      ".x",
      "..x",
      "-x",
      "...",
      "a..",
      "glibc-2.38-77.drv",
    ]) {
      expect(parseStorePathName(s)).toBe(s);
    }
  });

  it("rejects empty, overlong, forbidden characters", () => {
    for (const s of ["", "x".repeat(212), "a b", "a/b", "a@b", "a:b", "a%b", "ä", "a\nb", "a\\b", "a~b"]) {
      expect(() => parseStorePathName(s), JSON.stringify(s)).toThrow(FormatError);
    }
  });

  it("rejects '.', '..' and names starting with '.-' or '..-' (path-regex.hh)", () => {
    for (const s of [".", "..", ".-", "..-", ".-foo", "..-foo"]) {
      expect(() => parseStorePathName(s), s).toThrow(FormatError);
    }
  });
});

describe("store paths", () => {
  it("parses full paths and base names", () => {
    const p = parseStorePath(`/nix/store/${HASH}-feas-app`);
    expect(p).toEqual({ hash: HASH, name: "feas-app" });
    expect(parseStorePathBaseName(`${HASH}-feas-app`)).toEqual(p);
    expect(storePathBaseName(p)).toBe(`${HASH}-feas-app`);
    expect(formatStorePath(p)).toBe(`${STORE_DIR}/${HASH}-feas-app`);
  });

  it("splits at the first '-' after the hash; the name may contain more", () => {
    expect(parseStorePathBaseName(`${HASH}-glibc-2.38-77`).name).toBe("glibc-2.38-77");
  });

  it("honours another store directory", () => {
    const p = parseStorePath(`/opt/store/${HASH}-x`, "/opt/store");
    expect(formatStorePath(p, "/opt/store")).toBe(`/opt/store/${HASH}-x`);
    expect(() => parseStorePath(`/nix/store/${HASH}-x`, "/opt/store")).toThrow(FormatError);
  });

  it("rejects paths outside the store, nested, or not canonical", () => {
    for (const s of [
      `/nix/store/${HASH}`,
      `/nix/store/${HASH}-`,
      `/nix/store/${HASH}_x`,
      `/nix/store/${HASH}-x/bin`,
      `/nix/store//${HASH}-x`,
      `/nix/store/../store/${HASH}-x`,
      `nix/store/${HASH}-x`,
      `/nix/storex/${HASH}-x`,
      `${HASH}-x`,
      `/nix/store/${HASH}-x `,
    ]) {
      expect(() => parseStorePath(s), s).toThrow(FormatError);
    }
  });

  it("reports what = store path", () => {
    try {
      parseStorePath("/tmp/x");
      expect.unreachable();
    } catch (e) {
      expect((e as FormatError).what).toBe("store path");
    }
  });
});
