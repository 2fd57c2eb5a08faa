import { describe, expect, it } from "vitest";
import { FormatError } from "../../src/narinfo/errors";
import { formatNixHash } from "../../src/narinfo/hash";
import { parseNarinfo } from "../../src/narinfo/narinfo";
import { parseNarUrl } from "../../src/nar/narUrl";
import { CACHE_NIXOS_ORG_NARINFOS, PROTOCOL_NARINFO } from "./nixVectors";

const H = "0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm";

describe("parseNarUrl", () => {
  it("reads Nix's nar/<FileHash>.nar.xz: key, file hash", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    const u = parseNarUrl(n.url);
    expect(u.key).toBe(`nar/${H}.nar.xz`);
    expect(formatNixHash(u.fileHash!)).toBe(n.fileHashText);
  });

  it.each(["", ".xz", ".bz2", ".zst", ".lzip", ".lz", ".lz4", ".br", ".gz"])(
    "reads the file hash of a .nar%s name",
    (ext) => {
      expect(parseNarUrl(`nar/${H}.nar${ext}`).fileHash?.algo).toBe("sha256");
    },
  );

  it("an unknown extension is just a name, not a hash", () => {
    expect(parseNarUrl(`nar/${H}.nar.foo`)).toEqual({ key: `nar/${H}.nar.foo` });
  });

  it("takes other caches' names as opaque keys", () => {
    expect(parseNarUrl("nar/5f0c7c9e-0e51-4b4e-9d0c-2f4c6a1b3e7d.nar.zst")).toEqual({
      key: "nar/5f0c7c9e-0e51-4b4e-9d0c-2f4c6a1b3e7d.nar.zst",
    });
    expect(parseNarUrl(`${H}.nar.xz`).key).toBe(`${H}.nar.xz`); // github-store: no nar/ prefix
    expect(parseNarUrl("a/b/c.bin")).toEqual({ key: "a/b/c.bin" });
    expect(parseNarUrl("nar/x.nar.foo")).toEqual({ key: "nar/x.nar.foo" });
    const c12 = parseNarinfo(CACHE_NIXOS_ORG_NARINFOS["c12lxpykv6sld7a0sakcnr3y0la70x8w"]!);
    expect(parseNarUrl(c12.url).key).toBe(c12.url);
  });

  it("drops the query string from the key", () => {
    expect(parseNarUrl(`nar/${H}.nar.xz?hash=abc&x=1`).key).toBe(`nar/${H}.nar.xz`);
    expect(parseNarUrl("nar/x.nar?").key).toBe("nar/x.nar");
  });

  it("keeps percent-escapes as written", () => {
    expect(parseNarUrl("nar/a%2Bb.nar").key).toBe("nar/a%2Bb.nar");
    expect(parseNarUrl("nar/gcc+x.nar").key).toBe("nar/gcc+x.nar");
  });

  it("gives no file hash for a 52-character name that is not a valid sha256", () => {
    const u = parseNarUrl(`nar/z${H.slice(1)}.nar.xz`);
    expect(u.fileHash).toBeUndefined();
    expect(parseNarUrl(`nar/${H}x.nar.xz`).fileHash).toBeUndefined();
  });

  it("rejects absolute URLs", () => {
    for (const u of [
      `https://cache.example/nar/${H}.nar.xz`,
      "http://x/y",
      "file:///nix/x",
      "s3://bucket/nar/x",
      `//cdn.example/nar/${H}.nar`,
    ]) {
      expect(() => parseNarUrl(u), u).toThrow(FormatError);
    }
  });

  it("rejects anything that escapes or aliases the cache root", () => {
    for (const u of [
      "",
      "/nar/x.nar",
      "nar//x.nar",
      "nar/x.nar/",
      "../nar/x.nar",
      "nar/../x.nar",
      "nar/./x.nar",
      "./x.nar",
      "nar\\x.nar",
      "nar/x.nar#frag",
      "nar/x .nar",
      "nar/x\n.nar",
      "nar/x\0.nar",
      "nar/x\x7f.nar",
      "nar/é.nar",
      "nar/%2e%2e/x.nar",
      "nar/%2E/x.nar",
      "nar%2Fx.nar",
      "nar%5cx.nar",
      "nar/%zz.nar",
      "nar/%ff.nar",
      "nar/x.nar?a b",
      "nar/a:b.nar",
      "?x",
    ]) {
      expect(() => parseNarUrl(u), JSON.stringify(u)).toThrow(FormatError);
    }
  });

  it("reports what = nar url", () => {
    try {
      parseNarUrl("https://example.com/x.nar");
      expect.unreachable();
    } catch (e) {
      expect((e as FormatError).what).toBe("nar url");
    }
  });
});
