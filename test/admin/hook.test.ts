import { afterEach, describe, expect, it } from "vitest";
import { auditRows, bindings, callAdmin, callCache, envs, fakeCloudflareApi, fixtureBytes, fixturePath, HOOK_SECRET, restoreFetch } from "./harness";

afterEach(restoreFetch);

/** An S3 "Object Created" event as EventBridge delivers it. */
function objectCreated(key: string) {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": "Object Created",
    source: "aws.s3",
    account: "123456789012",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: ["arn:aws:s3:::nix-cache"],
    detail: { version: "0", bucket: { name: "nix-cache" }, object: { key, size: 512, etag: "x", sequencer: "1" }, reason: "PutObject" },
  };
}

describe("POST /v1/hooks/object-created", () => {
  it("purges the cached 'not found' of a narinfo uploaded after it was asked for", async () => {
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const dep = fixturePath("feas-dep");
    const key = `${dep.hashPart}.narinfo`;
    await bindings().NAR_BUCKET.delete(key);
    expect((await callCache(cache, `/${key}`)).status).toBe(404);
    const cachedMiss = await callCache(cache, `/${key}`);
    expect([cachedMiss.status, cachedMiss.headers.get("x-cache-status")]).toEqual([404, "HIT"]);

    await bindings().NAR_BUCKET.put(key, fixtureBytes(dep.xz.narinfoPath));
    expect((await callCache(cache, `/${key}`)).status).toBe(404);

    const res = await callAdmin(admin, "POST", "/v1/hooks/object-created", {
      token: null,
      headers: { "x-hook-secret": HOOK_SECRET },
      body: [objectCreated(key), objectCreated(dep.xz.url)],
    });
    expect(res.status).toBe(200);
    expect(res.json.purged).toEqual([`${admin.PUBLIC_URL}/${key}`]);
    expect(res.json.ignored).toEqual([dep.xz.url]);
    expect(api.purged()).toEqual([`${admin.PUBLIC_URL}/${key}`]);
    expect((await callCache(cache, `/${key}`)).status).toBe(200);
    expect((await auditRows()).at(-1)).toMatchObject({ actor: "hook", action: "hook", result: "ok" });
  });

  it("accepts a single event and refuses what is not an Object Created event", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const headers = { "x-hook-secret": HOOK_SECRET };
    const one = await callAdmin(admin, "POST", "/v1/hooks/object-created", { token: null, headers, body: objectCreated("0000000000000000000000000000000f.narinfo") });
    expect(one.status).toBe(200);
    expect(one.json.purged).toHaveLength(1);
    const bad = await callAdmin(admin, "POST", "/v1/hooks/object-created", { token: null, headers, body: { "detail-type": "Object Deleted", detail: {} } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/Object Created/);
    const notJson = await callAdmin(admin, "POST", "/v1/hooks/object-created", { token: null, headers, rawBody: "{" });
    expect(notJson.status).toBe(400);
  });
});
