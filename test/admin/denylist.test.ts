/**
 * The cache worker's side of the block model (docs/admin.md, "The cache worker: in the isolate, refreshed every
 * DENYLIST_REFRESH_SECONDS"): the published document is held per isolate (per parsed config), checked on every
 * request, re-read from KV at most every DENYLIST_REFRESH_SECONDS, and a KV outage does what the docs say.
 * KV outages are stand-ins (a binding whose reads throw); time is moved by mocking Date.now.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { denylistFallbackUrl } from "../../src/serve/denylist";
import {
  bindings,
  callAdmin,
  callCache,
  clearBlocks,
  envs,
  fakeCloudflareApi,
  fixturePath,
  restoreFetch,
  seedR2,
} from "./harness";

afterEach(async () => {
  restoreFetch();
  await clearBlocks();
});

/** The real KV binding, with its reads counted and, while `down`, failing as in an outage. */
function watchedKv(kv: KVNamespace) {
  const state = { reads: 0, down: false };
  const binding = {
    get: async (key: string) => {
      state.reads += 1;
      if (state.down) throw new Error("KV GET failed: 503 Service Unavailable (test stand-in)");
      return kv.get(key, "text");
    },
  } as unknown as KVNamespace;
  return { binding, state };
}

function clockAt(ms: number): void {
  vi.spyOn(Date, "now").mockReturnValue(ms);
}

describe("the denylist in the cache worker's isolate", () => {
  it("a block applies on a hit within DENYLIST_REFRESH_SECONDS (as documented), no KV read per hit", async () => {
    await seedR2(bindings().NAR_BUCKET);
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const kv = watchedKv(bindings().DENYLIST);
    const env = { ...cache, DENYLIST: kv.binding, DENYLIST_REFRESH_SECONDS: "30" };
    const app = fixturePath("feas-app");
    const path = `/${app.hashPart}.narinfo`;
    const t0 = Date.now();
    clockAt(t0);
    expect((await callCache(env, path)).status).toBe(200);
    const hit = await callCache(env, path);
    expect([hit.status, hit.headers.get("x-cache-status")]).toEqual([200, "HIT"]);
    expect(kv.state.reads).toBe(1);

    vi.restoreAllMocks();
    fakeCloudflareApi();
    expect(
      (await callAdmin(admin, "POST", "/v1/block", { body: { paths: [app.hashPart], reason: "timing" } })).status,
    ).toBe(200);

    // Within the refresh interval the isolate answers from the copy it holds, and reads no KV. The block purged the
    // edge cache, so this isolate (not yet seeing the block) caches the narinfo again: the documented window.
    clockAt(t0 + 29_000);
    expect((await callCache(env, path)).headers.get("x-cache-status")).toBe("MISS");
    for (let i = 0; i < 5; i++) expect((await callCache(env, path)).headers.get("x-cache-status")).toBe("HIT");
    expect(kv.state.reads).toBe(1);
    // Past it, the next request re-reads the document once, and the block applies to the cached copy (a hit).
    clockAt(t0 + 30_001);
    expect((await callCache(env, path)).status).toBe(410);
    expect((await callCache(env, `/${app.xz.url}`)).status).toBe(410);
    expect(kv.state.reads).toBe(2);
  });

  it("a KV outage: an isolate holding the denylist keeps enforcing it, serving, and retries after 5 s", async () => {
    await seedR2(bindings().NAR_BUCKET);
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    const dep = fixturePath("feas-dep");
    expect(
      (await callAdmin(admin, "POST", "/v1/block", { body: { paths: [app.hashPart], reason: "outage" } })).status,
    ).toBe(200);
    const kv = watchedKv(bindings().DENYLIST);
    const env = { ...cache, DENYLIST: kv.binding, DENYLIST_REFRESH_SECONDS: "30" };
    const t0 = Date.now();
    clockAt(t0);
    expect((await callCache(env, `/${app.hashPart}.narinfo`)).status).toBe(410);

    kv.state.down = true;
    clockAt(t0 + 31_000);
    expect((await callCache(env, `/${app.hashPart}.narinfo`)).status).toBe(410);
    expect((await callCache(env, `/${dep.hashPart}.narinfo`)).status).toBe(200);
    expect(kv.state.reads).toBe(2);
    // Not asked again on every request while it is down: after RETRY_AFTER_FAILURE_MS.
    expect((await callCache(env, `/${dep.hashPart}.ls`)).status).toBe(200);
    expect(kv.state.reads).toBe(2);
    clockAt(t0 + 36_001);
    expect((await callCache(env, `/${dep.hashPart}.ls`)).status).toBe(200);
    expect(kv.state.reads).toBe(3);
  });

  it("a KV outage in a new isolate: the copy kept in this data centre's Cache API is used", async () => {
    await seedR2(bindings().NAR_BUCKET);
    fakeCloudflareApi();
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    const dep = fixturePath("feas-dep");
    expect(
      (await callAdmin(admin, "POST", "/v1/block", { body: { paths: [app.hashPart], reason: "outage" } })).status,
    ).toBe(200);
    // One isolate reads the document and keeps a copy.
    expect((await callCache(cache, `/${app.hashPart}.narinfo`)).status).toBe(410);
    // A new one (a fresh env: a fresh parsed config) while KV is down.
    const kv = watchedKv(bindings().DENYLIST);
    kv.state.down = true;
    const fresh = { ...cache, DENYLIST: kv.binding };
    expect((await callCache(fresh, `/${app.hashPart}.narinfo`)).status).toBe(410);
    expect((await callCache(fresh, `/${dep.hashPart}.narinfo`)).status).toBe(200);
  });

  it("KV outage, new isolate, no copy: 503 (retryable) for what the denylist governs; nix-cache-info 200", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const { cache } = await envs();
    await caches.default.delete(denylistFallbackUrl({ publicUrl: cache.PUBLIC_URL }));
    const kv = watchedKv(bindings().DENYLIST);
    kv.state.down = true;
    const env = { ...cache, DENYLIST: kv.binding };
    const dep = fixturePath("feas-dep");
    const res = await callCache(env, `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect((await callCache(env, "/nix-cache-info")).status).toBe(200);
  });

  it("nothing published yet is an empty denylist", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const { cache } = await envs();
    const empty = { get: async () => null } as unknown as KVNamespace;
    expect(
      (await callCache({ ...cache, DENYLIST: empty }, `/${fixturePath("feas-dep").hashPart}.narinfo`)).status,
    ).toBe(200);
  });
});
