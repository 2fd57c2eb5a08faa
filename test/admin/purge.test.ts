import { afterEach, describe, expect, it } from "vitest";
import { cacheKeyUrl } from "../../src/routing/cacheKey";
import {
  auditRows,
  bindings,
  callAdmin,
  callCache,
  CF_API_TOKEN,
  envs,
  fakeCloudflareApi,
  fixturePath,
  restoreFetch,
  seedR2,
  ZONE_ID,
} from "./harness";

afterEach(restoreFetch);

describe("POST /v1/purge", () => {
  it("removes the cached narinfo, NAR and listing: the next request is a MISS", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    const paths = [`/${app.hashPart}.narinfo`, `/${app.xz.url}`, `/${app.hashPart}.ls`];
    for (const p of paths) {
      expect((await callCache(cache, p)).headers.get("x-cache-status")).toBe("MISS");
      expect((await callCache(cache, p)).headers.get("x-cache-status")).toBe("HIT");
    }

    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [app.storePath] } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const want = [
      `${app.hashPart}.narinfo`,
      `${app.hashPart}.ls`,
      app.xz.url,
      `log/hbj478zkq31icislc2hh8prlf4dxx7x2-feas-app.drv`,
    ].map((k) => cacheKeyUrl(admin.PUBLIC_URL!, k));
    expect(res.json.paths[0]).toMatchObject({
      hash: app.hashPart,
      storePath: app.storePath,
      narinfo: "found",
      origin: "r2:NAR_BUCKET",
    });
    expect(res.json.paths[0].urls).toEqual(want);
    expect(res.json.purge.zone.status).toBe("purged");
    expect(res.json.purge.localDeleted.sort()).toEqual(want.slice(0, 3).sort());

    for (const p of paths) {
      const again = await callCache(cache, p);
      expect(again.status).toBe(200);
      expect(again.headers.get("x-cache-status")).toBe("MISS");
    }
    // Globally: one purge_cache call on the configured zone, with the API token, naming exactly those URLs.
    expect(api.calls).toEqual([{ zone: ZONE_ID, authorization: `Bearer ${CF_API_TOKEN}`, files: want }]);
  });

  it("accepts bare hashes, base names and narinfo URLs, many per call, and dedupes them", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    const [dep, app, lib] = ["feas-dep", "feas-app", "feas-c++-lib"].map(fixturePath) as [any, any, any];
    const res = await callAdmin(admin, "POST", "/v1/purge", {
      body: {
        paths: [
          dep.hashPart,
          `${admin.PUBLIC_URL}/${app.hashPart}.narinfo`,
          lib.storePath.slice("/nix/store/".length),
          `/${dep.hashPart}.narinfo`,
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.json.paths.map((p: any) => p.hash)).toEqual([dep.hashPart, app.hashPart, lib.hashPart]);
    // The `+` of feas-c++-lib's deriver is encoded once, as the cache worker's keys have it.
    expect(api.purged()).toContain(`${admin.PUBLIC_URL}/log/gwfif1c4z5sjl931xn9706rv6cvwgn0v-feas-c%2B%2B-lib.drv`);
    expect(api.purged()).toHaveLength(12);
  });

  it("calls the zone purge API in batches of PURGE_BATCH_SIZE", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin } = await envs({ PURGE_BATCH_SIZE: "5" });
    const hashes = ["feas-dep", "feas-app", "feas-c++-lib"].map((n) => fixturePath(n).hashPart);
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: hashes } });
    expect(res.status).toBe(200);
    expect(api.calls.map((c) => c.files.length)).toEqual([5, 5, 2]);
    expect(new Set(api.purged())).toEqual(new Set(res.json.paths.flatMap((p: any) => p.urls)));
    expect(res.json.purge.zone.calls).toHaveLength(3);
  });

  it("retries a 429 after Retry-After, then goes on", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi([{ status: 429, retryAfter: "2" }, 200, { status: 429, retryAfter: "1" }]);
    const { admin } = await envs({ PURGE_BATCH_SIZE: "3" });
    const res = await callAdmin(admin, "POST", "/v1/purge", {
      body: { paths: [fixturePath("feas-app").hashPart, fixturePath("feas-dep").hashPart] },
    });
    expect(res.status).toBe(200);
    expect(res.sleeps).toEqual([2000, 1000]);
    expect(api.calls.map((c) => c.files.length)).toEqual([3, 3, 3, 3, 2]);
    expect(api.purged()).toHaveLength(8);
    expect(res.json.purge.zone.calls.map((c: any) => c.attempts)).toEqual([2, 2, 1]);
  });

  it("gives up after repeated 429s, answers 502 and names every URL not purged", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi([200, 429, 429, 429, 429, 429]);
    const { admin } = await envs({ PURGE_BATCH_SIZE: "2" });
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [fixturePath("feas-app").hashPart] } });
    expect(res.status).toBe(502);
    expect(res.json.error.kind).toBe("upstream-failed");
    expect(res.json.purge.zone.status).toBe("failed");
    expect(res.json.purge.zone.error).toContain("971");
    expect(res.json.purge.zone.notPurged).toEqual(res.json.paths[0].urls.slice(2));
    expect(api.calls).toHaveLength(6);
    expect(res.sleeps).toHaveLength(4);
    const last = (await auditRows()).at(-1)!;
    expect(last).toMatchObject({ action: "purge", result: "partial", status: 502, actor: "all-admin" });
  });

  it("backs off on a 5xx without Retry-After, and gives up on a Retry-After longer than a minute", async () => {
    await seedR2(bindings().NAR_BUCKET);
    fakeCloudflareApi([503, { status: 429, retryAfter: "120" }]);
    const { admin } = await envs();
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [fixturePath("feas-dep").hashPart] } });
    expect(res.sleeps).toEqual([1000]);
    expect(res.status).toBe(502);
    expect(res.json.purge.zone.calls).toEqual([{ files: 4, attempts: 2, status: 429 }]);
  });

  it("stops at once on a non-retryable API error", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi([403]);
    const { admin } = await envs();
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [fixturePath("feas-dep").hashPart] } });
    expect(res.status).toBe(502);
    expect(api.calls).toHaveLength(1);
    expect(res.sleeps).toEqual([]);
  });

  it("dry_run lists the URLs and touches nothing", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    await callCache(cache, `/${app.hashPart}.narinfo`);
    const before = (await auditRows()).length;
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [app.storePath], dry_run: true } });
    expect(res.status).toBe(200);
    expect(res.json.dry_run).toBe(true);
    expect(res.json.purge.zone.status).toBe("dry-run");
    expect(res.json.purge.urls).toHaveLength(4);
    expect(api.calls).toHaveLength(0);
    expect((await callCache(cache, `/${app.hashPart}.narinfo`)).headers.get("x-cache-status")).toBe("HIT");
    // Not a change, but a call to a mutating route: one row that says it was a dry run.
    const rows = (await auditRows()).slice(before);
    expect(rows.map((r) => [r.action, r.result, r.status])).toEqual([["purge", "dry-run", 200]]);
  });

  it("purges the narinfo and listing of a path no origin has (a cached miss)", async () => {
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    const hash = "0000000000000000000000000000000a";
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [hash] } });
    expect(res.status).toBe(200);
    expect(res.json.paths[0].narinfo).toBe("absent");
    expect(api.purged()).toEqual([`${admin.PUBLIC_URL}/${hash}.narinfo`, `${admin.PUBLIC_URL}/${hash}.ls`]);
  });

  it("answers 200 with zone status not-configured when no zone is set (local development)", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs({ CLOUDFLARE_ZONE_ID: "", CLOUDFLARE_API_TOKEN: undefined });
    const dep = fixturePath("feas-dep");
    await callCache(cache, `/${dep.hashPart}.narinfo`);
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [dep.hashPart] } });
    expect(res.status).toBe(200);
    expect(res.json.purge.zone).toEqual({ status: "not-configured" });
    expect(res.json.purge.localDeleted).toContain(`${admin.PUBLIC_URL}/${dep.hashPart}.narinfo`);
    expect(api.calls).toHaveLength(0);
  });

  it("refuses bad input with 400 naming every bad entry, before doing anything", async () => {
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    const cases: [unknown, RegExp][] = [
      [
        { paths: ["/nix/store/short-name", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 7] },
        /paths\[0\].*paths\[1\].*paths\[2\]/,
      ],
      [{ paths: [] }, /non-empty array/],
      [{}, /non-empty array/],
      [{ paths: ["/etc/passwd"] }, /not a store path/],
      [{ paths: Array.from({ length: 101 }, () => "00000000000000000000000000000000") }, /at most 100/],
      [{ paths: ["00000000000000000000000000000000"], dryrun: true }, /unknown field.*dryrun/],
      [{ paths: ["00000000000000000000000000000000"], dry_run: "yes" }, /dry_run/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await callAdmin(admin, "POST", "/v1/purge", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.kind).toBe("bad-request");
      expect(res.json.error.message).toMatch(message);
    }
    const notJson = await callAdmin(admin, "POST", "/v1/purge", { rawBody: "paths=x" });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.message).toBe("body is not valid JSON");
    expect(api.calls).toHaveLength(0);
  });
});
