import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config";
import { parseTargets } from "../../src/admin/targets";
import { digestsEqual, parseAdminTokens } from "../../src/admin/tokens";
import { batches } from "../../src/admin/zonePurge";

const H = "194nkn4ilzgc06a93b6y9fm68lq0dpr6";

describe("parseTargets", () => {
  it("reads store paths, base names, bare hashes and narinfo URLs as the same hash", () => {
    const inputs = [
      `/nix/store/${H}-feas-app`,
      `/nix/store/${H}-feas-app/`,
      `${H}-feas-app`,
      H,
      `https://cache.example-nix.org/${H}.narinfo`,
      `https://cache.example-nix.org/${H}.narinfo?x=1`,
      `/${H}.narinfo`,
      `${H}.narinfo`,
    ];
    for (const input of inputs) {
      const r = parseTargets([input], "/nix/store");
      expect(r, input).toEqual({ ok: true, targets: [expect.objectContaining({ input, hash: H })] });
    }
    expect(parseTargets([`/nix/store/${H}-feas-c++-lib`], "/nix/store")).toMatchObject({ ok: true, targets: [{ name: "feas-c++-lib" }] });
  });

  it("refuses what is not a path, with the reason", () => {
    const bad: [string, RegExp][] = [
      [`/gnu/store/${H}-x`, /not a store path/],
      [`/nix/store/${H}`, /base name/],
      [`/nix/store/${H}-`, /name is empty/],
      [`/nix/store/${H}-a/b`, /forbidden character/],
      ["e".repeat(32), /nix32/],
      [`ftp://host/${H}.narinfo`, /http/],
      [`${H}.ls`, /nix32|base name/],
      ["", /not a non-empty string/],
    ];
    for (const [input, reason] of bad) {
      const r = parseTargets([input], "/nix/store");
      expect(r.ok, input).toBe(false);
      if (!r.ok) expect(r.detail, input).toMatch(reason);
    }
    expect(parseTargets(`/nix/store/${H}-x`, "/nix/store")).toMatchObject({ ok: false });
  });
});

describe("parseAdminTokens", () => {
  const sha = "a".repeat(64);
  it("parses entries and refuses plaintext tokens, unknown scopes and duplicate ids", () => {
    expect(parseAdminTokens(JSON.stringify([{ id: "alice", sha256: sha, scopes: ["purge", "read"] }]))[0]).toMatchObject({ id: "alice" });
    expect(parseAdminTokens(undefined)).toEqual([]);
    for (const bad of [
      "not json",
      "{}",
      JSON.stringify([{ id: "a", token: "secret", scopes: ["read"] }]),
      JSON.stringify([{ id: "a", sha256: sha, scopes: ["admin"] }]),
      JSON.stringify([{ id: "a b", sha256: sha, scopes: [] }]),
      JSON.stringify([{ id: "a", sha256: sha, scopes: [] }, { id: "a", sha256: sha, scopes: [] }]),
    ]) {
      expect(() => parseAdminTokens(bad), bad).toThrow(ConfigError);
      try {
        parseAdminTokens(bad);
      } catch (e) {
        expect((e as Error).message).not.toContain("secret");
      }
    }
  });

  it("compares digests only when their lengths match", () => {
    expect(digestsEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(digestsEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(digestsEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

describe("batches", () => {
  it("splits in order, the last batch holding the rest", () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([], 30)).toEqual([]);
  });
});
