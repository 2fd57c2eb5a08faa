import { describe, expect, it } from "vitest";
import { cacheKeyUrl } from "../../src/routing/cacheKey";
import { encodeObjectPath } from "../../src/routing/objectPath";

/** The definition: each segment through encodeURIComponent. */
const reference = (key: string) => key.split("/").map(encodeURIComponent).join("/");

describe("encodeObjectPath", () => {
  // Every printable ASCII character, alone and inside a narinfo-like key, plus what real keys look like.
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
  const keys = [
    "",
    "/",
    "0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm.narinfo",
    "nar/0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm.nar.xz",
    "log/s2bxa55kccmmq8b59fm9i450dyv8br1n-gtk+3-3.24.drv",
    "realisations/sha256:0000000000000000000000000000000000000000000000000000000000000000!out.doi",
    "nar/snix-castore/a b",
    "débug/ü",
    ...printable,
    ...printable.map((c) => `nar/x${c}y.nar`),
  ];
  it.each(keys)("%j is encoded as each segment through encodeURIComponent", (key) => {
    expect(encodeObjectPath(key)).toBe(reference(key));
  });

  it("keeps plain keys as they are and escapes the rest", () => {
    expect(encodeObjectPath("nar/abc.nar")).toBe("nar/abc.nar");
    expect(encodeObjectPath("log/x-gtk+3.drv")).toBe("log/x-gtk%2B3.drv");
  });
});

describe("cacheKeyUrl", () => {
  it.each([
    ["https://cache.example", "https://cache.example/a.narinfo"],
    ["https://cache.example/", "https://cache.example/a.narinfo"],
    ["https://cache.example///", "https://cache.example/a.narinfo"],
  ])("drops the base's trailing slashes: %s", (base, want) => {
    expect(cacheKeyUrl(base, "a.narinfo")).toBe(want);
  });
});
