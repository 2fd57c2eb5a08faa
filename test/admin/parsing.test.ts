import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config";
import { parseTargets } from "../../src/admin/targets";
import { digestsEqual, parseAdminTokens } from "../../src/admin/tokens";
import { batches } from "../../src/admin/zonePurge";
import { DenylistFormatError, formatDenylist, parseDenylist } from "../../src/serve/denylist";

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
    expect(parseTargets([`/nix/store/${H}-feas-c++-lib`], "/nix/store")).toMatchObject({
      ok: true,
      targets: [{ name: "feas-c++-lib" }],
    });
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
    expect(
      parseAdminTokens(JSON.stringify([{ id: "alice", sha256: sha, scopes: ["purge", "read"] }]))[0],
    ).toMatchObject({ id: "alice" });
    expect(parseAdminTokens(undefined)).toEqual([]);
    for (const bad of [
      "not json",
      "{}",
      JSON.stringify([{ id: "a", token: "secret", scopes: ["read"] }]),
      JSON.stringify([{ id: "a", sha256: sha, scopes: ["admin"] }]),
      JSON.stringify([{ id: "a b", sha256: sha, scopes: [] }]),
      JSON.stringify([
        { id: "a", sha256: sha, scopes: [] },
        { id: "a", sha256: sha, scopes: [] },
      ]),
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

describe("one parser for what both workers read", () => {
  it("repro: a boolean var means the same to both workers (ALLOW_S3_DELETE=1 was an error for the admin)", async () => {
    const { adminConfigFor } = await import("../../src/admin/config");
    const { parseBool } = await import("../../src/config");
    const { envs } = await import("./harness");
    for (const [value, expected] of [
      ["1", true],
      ["true", true],
      ["0", false],
      ["false", false],
      ["", false],
    ] as const) {
      const { admin } = await envs({ ALLOW_S3_DELETE: value });
      expect(adminConfigFor(admin).allowS3Delete, value).toBe(expected);
      expect(parseBool(value, "X", false), value).toBe(expected);
    }
    const { admin } = await envs({ ALLOW_S3_DELETE: "yes" });
    expect(() => adminConfigFor(admin)).toThrow("ALLOW_S3_DELETE must be true or false");
  });

  it("HOOK_BUCKETS is a list of S3 bucket names", async () => {
    const { parseAdminConfig } = await import("../../src/admin/config");
    const { envs } = await import("./harness");
    expect(parseAdminConfig((await envs({ HOOK_BUCKETS: "nix-cache, nix-cache-old" })).admin).hookBuckets).toEqual([
      "nix-cache",
      "nix-cache-old",
    ]);
    const bad = (await envs({ HOOK_BUCKETS: "Bad_Bucket" })).admin;
    expect(() => parseAdminConfig(bad)).toThrow(/HOOK_BUCKETS/);
  });

  it("the denylist document round-trips through the shared formatter and parser, refusing the unknown", () => {
    const keys = [
      `path:${H}`,
      `log:${H}`,
      "object:nar/abc.nar.xz",
      `object:realisations/sha256:${"ab".repeat(32)}!out.doi`,
    ];
    const doc = parseDenylist(formatDenylist(keys, 7, "2026-11-30T00:00:00.000Z"));
    expect(doc.version).toBe(7);
    expect(doc.size).toBe(4);
    for (const k of keys) expect(doc.has(k), k).toBe(true);
    expect(doc.has(`path:${"0".repeat(32)}`)).toBe(false);
    expect(() => formatDenylist(["nar/abc"], 1, "t")).toThrow(/not a denylist key/);
    for (const bad of [
      "",
      "{}",
      '{"format":"nix-edge-cache-denylist/1","version":1,"path":[1],"log":[],"object":[]}',
    ]) {
      expect(() => parseDenylist(bad), bad).toThrow(DenylistFormatError);
    }
  });

  it("the document for 10 000 blocked paths stays within the size docs/admin.md gives (about 1.4 MB)", () => {
    const NIX32 = "0123456789abcdfghijklmnpqrsvwxyz";
    const hash = (i: number) => [...i.toString(32).padStart(32, "0")].map((d) => NIX32[parseInt(d, 32)]).join("");
    const keys: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      // Each block of an output: its hash, its NAR (a nix32 file hash, as `nix copy` names them), its deriver's log.
      keys.push(`path:${hash(i)}`, `object:nar/${hash(i).repeat(2).slice(0, 52)}.nar.xz`, `log:${hash(i + 10_000)}`);
    }
    const text = formatDenylist(keys, 1, "2026-11-30T00:00:00.000Z");
    expect(text.length).toBeLessThan(1.45 * 1024 * 1024);
    expect(parseDenylist(text).size).toBe(30_000);
  });

  it("names realisations, build traces and debuginfo files as objects", () => {
    const realisation = `realisations/sha256:${"ab".repeat(32)}!out.doi`;
    const r = parseTargets(
      [realisation, `/debuginfo/${"cd".repeat(20)}`, `https://cache.example-nix.org/build-trace-v2/${H}-x.drv/out.doi`],
      "/nix/store",
    );
    expect(r).toMatchObject({
      ok: true,
      targets: [
        { kind: "object", route: { kind: "realisation", key: realisation } },
        { kind: "object", route: { kind: "debuginfo" } },
        { kind: "object", route: { kind: "build-trace" } },
      ],
    });
    expect(parseTargets(["realisations/nope.doi"], "/nix/store")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/object: invalid realisation id/),
    });
  });
});
