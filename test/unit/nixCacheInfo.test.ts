import { describe, expect, it } from "vitest";
import { FormatError } from "../../src/narinfo/errors";
import { formatNixCacheInfo, parseNixCacheInfo } from "../../src/narinfo/nixCacheInfo";

const CACHE_NIXOS_ORG = "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n";

describe("nix-cache-info", () => {
  it("formats cache.nixos.org's file exactly and parses it back", () => {
    const info = { storeDir: "/nix/store", wantMassQuery: true, priority: 40 };
    expect(formatNixCacheInfo(info)).toBe(CACHE_NIXOS_ORG);
    expect(parseNixCacheInfo(CACHE_NIXOS_ORG)).toEqual(info);
  });

  it("reads what Nix writes for a new file:// cache, with Nix's defaults for the rest", () => {
    expect(parseNixCacheInfo("StoreDir: /nix/store\n")).toEqual({
      storeDir: "/nix/store",
      wantMassQuery: false,
      priority: 50,
    });
  });

  it("is as lenient as the client about spacing and unknown lines", () => {
    expect(parseNixCacheInfo("StoreDir:/opt/store \r\njunk\nX: y\nWantMassQuery:  1\nPriority: -3")).toEqual({
      storeDir: "/opt/store",
      wantMassQuery: true,
      priority: -3,
    });
  });

  it("rejects a Priority that is not an integer", () => {
    expect(() => parseNixCacheInfo("Priority: high\n")).toThrow(FormatError);
  });
});
