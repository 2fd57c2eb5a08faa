import { afterEach, describe, expect, it } from "vitest";
import { auditRows, bindings, callAdmin, callCache, envs, fakeCloudflareApi, fixturePath, restoreFetch, seedR2 } from "./harness";

afterEach(restoreFetch);

describe("POST /v1/block and DELETE /v1/block/<hash>", () => {
  it("a blocked path answers 410 at once (narinfo, listing, NAR, log), even when cached; unblock restores it", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    const drv = "hbj478zkq31icislc2hh8prlf4dxx7x2-feas-app.drv";
    await bindings().NAR_BUCKET.put(`log/${drv}`, "building feas-app\n");
    const objects = [`/${app.hashPart}.narinfo`, `/${app.hashPart}.ls`, `/${app.xz.url}`, `/log/${drv}`];
    for (const p of objects) {
      await callCache(cache, p);
      expect((await callCache(cache, p)).headers.get("x-cache-status")).toBe("HIT");
    }

    const res = await callAdmin(admin, "POST", "/v1/block", { token: "block", body: { paths: [app.storePath], reason: "leaked secret (INC-42)" } });
    expect(res.status).toBe(200);
    expect(res.json.paths[0].denylistKeys).toEqual([`path:${app.hashPart}`, `object:${app.xz.url}`, "path:hbj478zkq31icislc2hh8prlf4dxx7x2"]);
    for (const p of objects) expect((await callCache(cache, p)).status, p).toBe(410);
    // Blocking also purges, so no cached copy outlives an unblock either.
    expect(api.purged()).toHaveLength(4);

    const record = JSON.parse((await bindings().DENYLIST.get(`path:${app.hashPart}`))!);
    expect(record).toMatchObject({ reason: "leaked secret (INC-42)", by: "block-admin" });
    expect(Date.parse(record.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.parse((await bindings().DENYLIST.get(`object:${app.xz.url}`))!)).toMatchObject({ reason: "leaked secret (INC-42)", by: "block-admin", for: [app.hashPart] });

    const status = await callAdmin(admin, "GET", `/v1/paths/${app.hashPart}`, { token: "read" });
    expect(status.json.blocked).toMatchObject({ reason: "leaked secret (INC-42)", by: "block-admin" });

    const un = await callAdmin(admin, "DELETE", `/v1/block/${app.hashPart}`, { token: "block" });
    expect(un.status).toBe(200);
    expect(un.json).toMatchObject({ hash: app.hashPart, unblocked: true, was: { reason: "leaked secret (INC-42)" } });
    for (const p of objects) {
      const again = await callCache(cache, p);
      expect(again.status, p).toBe(200);
      expect(again.headers.get("x-cache-status")).toBe("MISS");
    }
    const actions = (await auditRows()).slice(-2).map((r) => [r.action, r.result, r.actor]);
    expect(actions).toEqual([["block", "ok", "block-admin"], ["unblock", "ok", "block-admin"]]);
  });

  it("keeps a key shared with another blocked path until both are unblocked", async () => {
    await seedR2(bindings().NAR_BUCKET);
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const lib = fixturePath("feas-c++-lib");
    const kv = bindings().DENYLIST;
    // A second narinfo naming the same NAR (identical contents under another name), as a hand-made stand-in.
    await kv.put(`object:${lib.xz.url}`, JSON.stringify({ reason: "other", by: "x", at: "t", for: ["0000000000000000000000000000000b"] }));
    await callAdmin(admin, "POST", "/v1/block", { body: { paths: [lib.hashPart], reason: "broken build" } });
    expect(JSON.parse((await kv.get(`object:${lib.xz.url}`))!).for).toEqual(["0000000000000000000000000000000b", lib.hashPart]);
    const un = await callAdmin(admin, "DELETE", `/v1/block/${lib.storePath.slice("/nix/store/".length)}`);
    expect(un.status).toBe(200);
    expect(un.json.keptForOtherBlocks).toEqual([`object:${lib.xz.url}`]);
    expect((await callCache(cache, `/${lib.hashPart}.narinfo`)).status).toBe(200);
    expect((await callCache(cache, `/${lib.xz.url}`)).status).toBe(410);
    await kv.delete(`object:${lib.xz.url}`);
  });

  it("blocks a path that no origin has (it cannot appear later either)", async () => {
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const hash = "0000000000000000000000000000000c";
    const res = await callAdmin(admin, "POST", "/v1/block", { body: { paths: [hash], reason: "pre-emptive" } });
    expect(res.status).toBe(200);
    expect(res.json.paths[0].narinfo).toBe("absent");
    expect((await callCache(cache, `/${hash}.narinfo`)).status).toBe(410);
    await callAdmin(admin, "DELETE", `/v1/block/${hash}`);
    expect((await callCache(cache, `/${hash}.narinfo`)).status).toBe(404);
  });

  it("dry_run writes nothing", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const dep = fixturePath("feas-dep");
    const res = await callAdmin(admin, "POST", "/v1/block", { body: { paths: [dep.hashPart], reason: "test", dry_run: true } });
    expect(res.status).toBe(200);
    expect(res.json.paths[0].denylistKeys).toContain(`path:${dep.hashPart}`);
    expect(await bindings().DENYLIST.get(`path:${dep.hashPart}`)).toBeNull();
    expect((await callCache(cache, `/${dep.hashPart}.narinfo`)).status).toBe(200);
    expect(api.calls).toHaveLength(0);
  });

  it("needs a reason, and unblocking what is not blocked is 404", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const noReason = await callAdmin(admin, "POST", "/v1/block", { body: { paths: ["0000000000000000000000000000000d"] } });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.message).toMatch(/reason/);
    const un = await callAdmin(admin, "DELETE", "/v1/block/0000000000000000000000000000000d");
    expect(un.status).toBe(404);
    expect(un.json.error.message).toMatch(/not blocked/);
    const bad = await callAdmin(admin, "DELETE", "/v1/block/not-a-hash");
    expect(bad.status).toBe(400);
  });
});
