/**
 * The block model (docs/admin.md, "The block model"): explicit blocks in D1, the keys they imply computed from
 * all of them and published to KV as one document, which the cache worker checks. The reproductions of issue 12
 * ("Blocks") are named by what they reproduced.
 */
import { afterEach, describe, expect, it } from "vitest";
import { scheduledAdmin } from "../../src/admin/index";
import {
  auditRows,
  bindings,
  callAdmin,
  callCache,
  clearBlocks,
  envs,
  fakeCloudflareApi,
  fixturePath,
  fixtureText,
  publishedKeys,
  restoreFetch,
  seedR2,
} from "./harness";

afterEach(async () => {
  restoreFetch();
  await clearBlocks();
});

const DRV = "hbj478zkq31icislc2hh8prlf4dxx7x2-feas-app.drv";
const DRV_HASH = DRV.slice(0, 32);

async function seedWithLog(): Promise<void> {
  await seedR2(bindings().NAR_BUCKET);
  await bindings().NAR_BUCKET.put(`log/${DRV}`, "building feas-app\n");
}

/** A KV binding whose puts fail, standing in for a KV outage on the admin side. */
function failingPuts(kv: KVNamespace): KVNamespace {
  return {
    get: kv.get.bind(kv),
    delete: kv.delete.bind(kv),
    put: async () => {
      throw new Error("KV PUT failed: 500 Internal Server Error (test stand-in)");
    },
  } as unknown as KVNamespace;
}

describe("POST /v1/block and DELETE /v1/block/<path>", () => {
  it("a blocked path answers 410 (narinfo, listing, NAR, log), even when cached; unblock restores it", async () => {
    await seedWithLog();
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    const objects = [`/${app.hashPart}.narinfo`, `/${app.hashPart}.ls`, `/${app.xz.url}`, `/log/${DRV}`];
    for (const p of objects) {
      await callCache(cache, p);
      expect((await callCache(cache, p)).headers.get("x-cache-status")).toBe("HIT");
    }

    const res = await callAdmin(admin, "POST", "/v1/block", {
      token: "block",
      body: { paths: [app.storePath], reason: "leaked secret (INC-42)" },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ result: "ok", incomplete: [] });
    expect(res.json.paths[0].subject).toBe(`path:${app.hashPart}`);
    expect(res.json.paths[0].denylistKeys).toEqual([`path:${app.hashPart}`, `object:${app.xz.url}`, `log:${DRV_HASH}`]);
    for (const p of objects) expect((await callCache(cache, p)).status, p).toBe(410);
    // Blocking also purges, so no cached copy outlives an unblock either.
    expect(api.purged()).toHaveLength(4);

    const status = await callAdmin(admin, "GET", `/v1/paths/${app.hashPart}`, { token: "read" });
    expect(status.json.blocked).toMatchObject({ reason: "leaked secret (INC-42)", by: "block-admin" });
    expect(Date.parse(status.json.blocked.at)).toBeGreaterThan(Date.now() - 60_000);

    const un = await callAdmin(admin, "DELETE", `/v1/block/${app.hashPart}`, { token: "block" });
    expect(un.status).toBe(200);
    expect(un.json).toMatchObject({
      hash: app.hashPart,
      unblocked: true,
      result: "ok",
      was: { reason: "leaked secret (INC-42)" },
    });
    for (const p of objects) {
      const again = await callCache(cache, p);
      expect(again.status, p).toBe(200);
      expect(again.headers.get("x-cache-status")).toBe("MISS");
    }
    const actions = (await auditRows()).slice(-2).map((r) => [r.action, r.result, r.actor]);
    expect(actions).toEqual([
      ["block", "ok", "block-admin"],
      ["unblock", "ok", "block-admin"],
    ]);
  });

  it("repro: blocking an output keeps an explicit block of its .drv; unblocking it keeps the log hidden", async () => {
    await seedWithLog();
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    const log = `/log/${DRV}`;
    const drvBlock = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: [`/nix/store/${DRV}`], reason: "drv: leaked token in env" },
    });
    expect(drvBlock.status).toBe(200);
    expect((await callCache(cache, log)).status).toBe(410);

    const outBlock = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: [app.storePath], reason: "output: broken" },
    });
    expect(outBlock.status).toBe(200);
    // The .drv's explicit record keeps its own reason and author.
    const drvStatus = await callAdmin(admin, "GET", `/v1/paths/${DRV_HASH}`, { token: "read" });
    expect(drvStatus.json.blocked).toMatchObject({ reason: "drv: leaked token in env", by: "all-admin" });

    const un = await callAdmin(admin, "DELETE", `/v1/block/${app.hashPart}`);
    expect(un.status).toBe(200);
    expect(un.json.keptForOtherBlocks).toEqual([{ key: `log:${DRV_HASH}`, by: `path:${DRV_HASH}` }]);
    expect((await callCache(cache, `/${app.hashPart}.narinfo`)).status).toBe(200);
    expect((await callCache(cache, log)).status).toBe(410);

    expect((await callAdmin(admin, "DELETE", `/v1/block/${DRV}`)).status).toBe(200);
    expect((await callCache(cache, log)).status).toBe(200);
  });

  it("repro: DELETE /v1/block/<drv> of a never-blocked .drv answers 404, keeps the output's log block", async () => {
    await seedWithLog();
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    expect(
      (await callAdmin(admin, "POST", "/v1/block", { body: { paths: [app.hashPart], reason: "output" } })).status,
    ).toBe(200);
    const before = await publishedKeys();

    const un = await callAdmin(admin, "DELETE", `/v1/block/${DRV_HASH}`);
    expect(un.status).toBe(404);
    expect(un.json.error.message).toBe(
      `path:${DRV_HASH} is not blocked explicitly; it is hidden by the block of path:${app.hashPart}`,
    );
    expect(await publishedKeys()).toEqual(before);
    expect((await callCache(cache, `/log/${DRV}`)).status).toBe(410);
    expect((await auditRows()).at(-1)).toMatchObject({ action: "unblock", result: "invalid", status: 404 });
  });

  it("repro: a block while the narinfo lookup fails (503): 502 partial naming NAR and log; a retry ends", async () => {
    await seedWithLog();
    let upstreamUp = false;
    const app = fixturePath("feas-app");
    fakeCloudflareApi([], (request) => {
      if (!upstreamUp) return new Response("unavailable", { status: 503 });
      const key = new URL(request.url).pathname.slice(1);
      return key === `${app.hashPart}.narinfo`
        ? new Response(fixtureText(app.xz.narinfoPath))
        : new Response("no", { status: 404 });
    });
    // The admin looks narinfos up in an upstream that fails (a stub); the cache worker serves from R2.
    const { admin, cache } = await envs({
      ORIGINS: [{ type: "http", url: "https://upstream.stub", breakerFailures: 100 }],
    });
    const { cache: r2Cache } = await envs();
    r2Cache.PUBLIC_URL = cache.PUBLIC_URL;
    expect((await callCache(r2Cache, `/${app.xz.url}`)).status).toBe(200);

    const res = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: [app.hashPart], reason: "during an outage" },
    });
    expect(res.status).toBe(502);
    expect(res.json.result).toBe("partial");
    expect(res.json.incomplete).toEqual([
      expect.stringMatching(
        new RegExp(`^${app.hashPart}: an origin failed .*NAR and log could not be named; they are still served$`),
      ),
    ]);
    expect((await callCache(r2Cache, `/${app.hashPart}.narinfo`)).status).toBe(410);
    expect((await callCache(r2Cache, `/${app.xz.url}`)).status).toBe(200);
    expect((await auditRows()).at(-1)).toMatchObject({ action: "block", result: "partial", status: 502 });

    upstreamUp = true;
    const retry = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: [app.hashPart], reason: "during an outage" },
    });
    expect(retry.status).toBe(200);
    expect(retry.json.result).toBe("ok");
    expect((await callCache(r2Cache, `/${app.xz.url}`)).status).toBe(410);
    expect((await callCache(r2Cache, `/log/${DRV}`)).status).toBe(410);
  });

  it("repro: realisations and debuginfo can be blocked (and unblocked) through the API", async () => {
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const realisation = `realisations/sha256:${"ab".repeat(32)}!out.doi`;
    const debuginfo = `debuginfo/${"cd".repeat(20)}`;
    await bindings().NAR_BUCKET.put(realisation, '{"id":"x"}');
    await bindings().NAR_BUCKET.put(debuginfo, '{"archive":"../nar/x.nar.xz","member":"lib/debug/x"}');
    for (const key of [realisation, debuginfo]) expect((await callCache(cache, `/${key}`)).status, key).toBe(200);

    const res = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: [`/${realisation}`, `${admin.PUBLIC_URL}/${debuginfo}`], reason: "bad realisation" },
    });
    expect(res.status).toBe(200);
    expect(res.json.paths.map((p: { subject: string }) => p.subject)).toEqual([
      `object:${realisation}`,
      `object:${debuginfo}`,
    ]);
    for (const key of [realisation, debuginfo]) expect((await callCache(cache, `/${key}`)).status, key).toBe(410);

    expect((await callAdmin(admin, "DELETE", `/v1/block/${encodeURIComponent(realisation)}`)).status).toBe(200);
    expect((await callCache(cache, `/${realisation}`)).status).toBe(200);
    expect((await callCache(cache, `/${debuginfo}`)).status).toBe(410);
  });

  it("concurrent blocks never lose each other: a publish overtaken by a newer one publishes again", async () => {
    fakeCloudflareApi();
    const kv = bindings().DENYLIST;
    // The first KV write waits until released: block A's publish is overtaken by block B's.
    let reachedGate!: () => void;
    const atGate = new Promise<void>((r) => (reachedGate = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let first = true;
    const gated = {
      get: kv.get.bind(kv),
      delete: kv.delete.bind(kv),
      put: async (key: string, value: string) => {
        if (first) {
          first = false;
          reachedGate();
          await released;
        }
        return kv.put(key, value);
      },
    } as unknown as KVNamespace;
    const { admin } = await envs({ DENYLIST: gated });
    const [a, b] = ["0000000000000000000000000000000a", "0000000000000000000000000000000b"];
    const blockA = callAdmin(admin, "POST", "/v1/block", { body: { paths: [a], reason: "A" } });
    await atGate;
    const blockB = await callAdmin(admin, "POST", "/v1/block", { body: { paths: [b], reason: "B" } });
    expect(blockB.status).toBe(200);
    expect(await publishedKeys()).toEqual(expect.arrayContaining([`path:${a}`, `path:${b}`]));
    release();
    const resA = await blockA;
    expect(resA.status).toBe(200);
    // A wrote its stale document last, saw the newer version, and wrote again.
    expect(resA.json.denylist).toMatchObject({ status: "published", rounds: 2 });
    expect(await publishedKeys()).toEqual(expect.arrayContaining([`path:${a}`, `path:${b}`]));
  });

  it("keeps a key shared by two blocks until both are unblocked", async () => {
    await seedWithLog();
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    await callAdmin(admin, "POST", "/v1/block", { body: { paths: [app.hashPart], reason: "one" } });
    await callAdmin(admin, "POST", "/v1/block", { body: { paths: [`/nix/store/${DRV}`], reason: "two" } });
    await callAdmin(admin, "DELETE", `/v1/block/${DRV}`);
    expect((await callCache(cache, `/log/${DRV}`)).status).toBe(410);
    await callAdmin(admin, "DELETE", `/v1/block/${app.hashPart}`);
    expect((await callCache(cache, `/log/${DRV}`)).status).toBe(200);
  });

  it("a KV write refused (one write per second per key) is retried after a second", async () => {
    fakeCloudflareApi();
    const kv = bindings().DENYLIST;
    let refusals = 1;
    const busy = {
      get: kv.get.bind(kv),
      delete: kv.delete.bind(kv),
      put: async (key: string, value: string) => {
        if (refusals-- > 0) throw new Error("KV PUT failed: 429 Too Many Requests (test stand-in)");
        return kv.put(key, value);
      },
    } as unknown as KVNamespace;
    const { admin } = await envs({ DENYLIST: busy });
    const hash = "0000000000000000000000000000000g";
    const res = await callAdmin(admin, "POST", "/v1/block", { body: { paths: [hash], reason: "busy" } });
    expect(res.status).toBe(200);
    expect(res.sleeps).toEqual([1000]);
    expect(await publishedKeys()).toContain(`path:${hash}`);
  });

  it("a failed publish answers 502 partial (recorded, not yet enforced); the cron trigger publishes it", async () => {
    fakeCloudflareApi();
    const { admin } = await envs({ DENYLIST: failingPuts(bindings().DENYLIST) });
    const hash = "0000000000000000000000000000000f";
    const res = await callAdmin(admin, "POST", "/v1/block", { body: { paths: [hash], reason: "kv down" } });
    expect(res.status).toBe(502);
    expect(res.json.result).toBe("partial");
    expect(res.json.incomplete).toEqual([expect.stringMatching(/^the denylist could not be published .*cron trigger/)]);
    expect(await publishedKeys()).not.toContain(`path:${hash}`);

    const { admin: healthy } = await envs();
    await scheduledAdmin(healthy, async () => {});
    expect(await publishedKeys()).toContain(`path:${hash}`);
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
    const res = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: [dep.hashPart], reason: "test", dry_run: true },
    });
    expect(res.status).toBe(200);
    expect(res.json.result).toBe("dry-run");
    expect(res.json.paths[0].denylistKeys).toContain(`path:${dep.hashPart}`);
    expect(await publishedKeys()).not.toContain(`path:${dep.hashPart}`);
    expect((await callCache(cache, `/${dep.hashPart}.narinfo`)).status).toBe(200);
    expect(api.calls).toHaveLength(0);
  });

  it("needs a reason, and unblocking what is not blocked is 404", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const noReason = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: ["0000000000000000000000000000000d"] },
    });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.message).toMatch(/reason/);
    const un = await callAdmin(admin, "DELETE", "/v1/block/0000000000000000000000000000000d");
    expect(un.status).toBe(404);
    expect(un.json.error.message).toBe("path:0000000000000000000000000000000d is not blocked explicitly");
    const bad = await callAdmin(admin, "DELETE", "/v1/block/not-a-hash");
    expect(bad.status).toBe(400);
  });
});
