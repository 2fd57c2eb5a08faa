import { describe, expect, it } from "vitest";
import { BadPath, parseRoute, type Route } from "../../src/routing/routes";

const HASH = "0zj84v6fzqyhk7q4f0ajg0nqsmdqbd5q";
const NAR = "1n7ncbskkmjiygs5pgla0kxg08rlwm6sf0543bzx7snl92vz2i0k";
const DRV_HASH = "ab".repeat(32);
const BUILD_ID = "0123456789abcdef0123456789abcdef01234567";

describe("parseRoute", () => {
  it.each([
    ["/", { kind: "landing" }],
    ["", { kind: "landing" }],
    ["/nix-cache-info", { kind: "cache-info" }],
    [`/${HASH}.narinfo`, { kind: "narinfo", hash: HASH, key: `${HASH}.narinfo` }],
    [`/${HASH}.ls`, { kind: "listing", hash: HASH, key: `${HASH}.ls` }],
    [`/nar/${NAR}.nar.xz`, { kind: "nar", key: `nar/${NAR}.nar.xz` }],
    [`/nar/${NAR}.nar`, { kind: "nar", key: `nar/${NAR}.nar` }],
    // NAR names are opaque: UUIDs and other caches' schemes are keys as they are.
    [
      "/nar/5f0c7c9e-0e51-4b4e-9d0c-2f4c6a1b3e7d.nar.zst",
      { kind: "nar", key: "nar/5f0c7c9e-0e51-4b4e-9d0c-2f4c6a1b3e7d.nar.zst" },
    ],
    [`/log/${HASH}-hello-2.12.drv`, { kind: "log", hash: HASH, key: `log/${HASH}-hello-2.12.drv` }],
    // `+` and `%2B` name one object (docs/protocol.md): the key is the decoded name.
    [`/log/${HASH}-c%2B%2B-tool.drv`, { kind: "log", hash: HASH, key: `log/${HASH}-c++-tool.drv` }],
    [`/log/${HASH}-c++-tool.drv`, { kind: "log", hash: HASH, key: `log/${HASH}-c++-tool.drv` }],
    [
      `/realisations/sha256:${DRV_HASH}!out.doi`,
      { kind: "realisation", key: `realisations/sha256:${DRV_HASH}!out.doi` },
    ],
    [
      `/realisations/sha256:${DRV_HASH}%21dev.doi`,
      { kind: "realisation", key: `realisations/sha256:${DRV_HASH}!dev.doi` },
    ],
    [
      `/build-trace-v2/${HASH}-hello-2.12.drv/out.doi`,
      { kind: "build-trace", hash: HASH, key: `build-trace-v2/${HASH}-hello-2.12.drv/out.doi` },
    ],
    [`/debuginfo/${BUILD_ID}`, { kind: "debuginfo", key: `debuginfo/${BUILD_ID}` }],
    // Two segments under nar/ (snix's nar/snix-castore/<blob>); a third is not a NAR URL (below).
    [`/nar/snix-castore/${NAR}`, { kind: "nar", key: `nar/snix-castore/${NAR}` }],
  ] as [string, Route][])("%s → %j", (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it.each([
    ["/favicon.ico"],
    ["/robots.txt"],
    [`/${HASH}`],
    ["/nar"],
    [`/nar/a/${NAR}.nar.xz/extra`],
    [`/other/${HASH}`],
    [`/build-trace-v2/${HASH}-hello.drv`],
    ["/a/b/c/d"],
  ])("%s is not part of the protocol: null (404)", (path) => {
    expect(parseRoute(path)).toBeNull();
  });

  it.each([
    ["/%E0%A4%A", "malformed percent-encoding"],
    [`/nar/..%2F${HASH}.narinfo`, "invalid characters in path"],
    ["/nar/a%5Cb", "invalid characters in path"],
    ["/nar/a%00b", "invalid characters in path"],
    ["/nar/a%0Ab", "invalid characters in path"],
    [`/${"e".repeat(32)}.narinfo`, "invalid store path hash"],
    [`/${HASH.slice(1)}.narinfo`, "invalid store path hash"],
    [`/${HASH.toUpperCase()}.ls`, "invalid store path hash"],
    ["/nar/..", "invalid NAR file name"],
    ["/nar/.hidden", "invalid NAR file name"],
    [`/nar/${"a".repeat(256)}`, "invalid NAR file name"],
    [`/log/${HASH}-hello`, "not a derivation name"],
    ["/log/nonsense.drv", "invalid derivation name"],
    [`/realisations/sha256:${DRV_HASH}.doi`, "invalid realisation id"],
    [`/realisations/md5:${"ab".repeat(16)}!out.doi`, "invalid realisation id"],
    [`/realisations/sha256:${DRV_HASH}!..doi`, "invalid output name"],
    [`/debuginfo/${BUILD_ID.slice(1)}`, "invalid build id"],
    [`/debuginfo/${BUILD_ID.toUpperCase()}`, "invalid build id"],
    [`/build-trace-v2/${HASH}-hello.drv/out`, "invalid build trace name"],
    [`/build-trace-v2/${HASH}-hello.drv/a%20b.doi`, "invalid output name"],
    [`/build-trace-v2/${HASH}-hello/out.doi`, "not a derivation name"],
  ])("%s looks like ours but is malformed: BadPath (%s)", (path, message) => {
    expect(() => parseRoute(path)).toThrow(BadPath);
    expect(() => parseRoute(path)).toThrow(message);
  });
});
