import { afterEach, describe, expect, it } from "vitest";
import {
  auditRows,
  bindings,
  callAdmin,
  callCache,
  envs,
  fakeCloudflareApi,
  fixtureBytes,
  fixturePath,
  HOOK_SECRET,
  restoreFetch,
} from "./harness";

afterEach(restoreFetch);

let sequence = 0x62e99a88dc4074;

/** An S3 "Object Created" event as EventBridge delivers it; each with a new, larger sequencer unless given. */
function objectCreated(key: string, options: { bucket?: string; sequencer?: string; time?: string } = {}) {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": "Object Created",
    source: "aws.s3",
    account: "123456789012",
    time: options.time ?? new Date().toISOString(),
    region: "us-east-1",
    resources: ["arn:aws:s3:::nix-cache"],
    detail: {
      version: "0",
      bucket: { name: options.bucket ?? "nix-cache" },
      object: { key, size: 512, etag: "x", sequencer: options.sequencer ?? (sequence++).toString(16).toUpperCase() },
      reason: "PutObject",
    },
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
    const one = await callAdmin(admin, "POST", "/v1/hooks/object-created", {
      token: null,
      headers,
      body: objectCreated("0000000000000000000000000000000f.narinfo"),
    });
    expect(one.status).toBe(200);
    expect(one.json.purged).toHaveLength(1);
    const bad = await callAdmin(admin, "POST", "/v1/hooks/object-created", {
      token: null,
      headers,
      body: { "detail-type": "Object Deleted", detail: {} },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/Object Created/);
    const notJson = await callAdmin(admin, "POST", "/v1/hooks/object-created", { token: null, headers, rawBody: "{" });
    expect(notJson.status).toBe(400);
  });
});

describe("the upload hook's bucket, replay and size rules", () => {
  const headers = { "x-hook-secret": HOOK_SECRET };
  const hook = (admin: Parameters<typeof callAdmin>[0], init: Parameters<typeof callAdmin>[3]) =>
    callAdmin(admin, "POST", "/v1/hooks/object-created", { token: null, headers, ...init });

  it("repro: a captured 100-event batch replayed three times purges once; later replays are duplicates", async () => {
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    const batch = Array.from({ length: 100 }, (_, i) =>
      objectCreated(`${"0".repeat(29)}${(100 + i).toString().replace(/[eotu]/g, "1")}.narinfo`),
    );
    const first = await hook(admin, { body: batch });
    expect(first.status).toBe(200);
    expect(first.json.purged).toHaveLength(100);
    const purgedOnce = api.purged().length;
    for (let i = 0; i < 2; i++) {
      const again = await hook(admin, { body: batch });
      expect(again.status).toBe(200);
      expect(again.json.purged).toEqual([]);
      expect(again.json.duplicates).toHaveLength(100);
    }
    expect(api.purged()).toHaveLength(purgedOnce);
    expect((await auditRows()).slice(-2).map((r) => [r.result, JSON.parse(r.detail!).duplicates.length])).toEqual([
      ["ok", 100],
      ["ok", 100],
    ]);
  });

  it("an older sequencer for a key is a duplicate too; a newer one (a re-upload) purges", async () => {
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    const key = "0000000000000000000000000000000g.narinfo";
    expect(
      (await hook(admin, { body: objectCreated(key, { sequencer: "0062E99A88DC407470" }) })).json.purged,
    ).toHaveLength(1);
    // S3 compares sequencers after right-padding with zeros: "0062E99A88DC40746" is "0062E99A88DC407460", older.
    expect(
      (await hook(admin, { body: objectCreated(key, { sequencer: "0062E99A88DC40746" }) })).json.duplicates,
    ).toEqual([key]);
    expect(
      (await hook(admin, { body: objectCreated(key, { sequencer: "0062E99A88DC407480" }) })).json.purged,
    ).toHaveLength(1);
    expect(api.purged()).toHaveLength(2);
  });

  it("repro: events of another bucket are refused, and audited", async () => {
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    const res = await hook(admin, {
      body: [objectCreated("0000000000000000000000000000000h.narinfo", { bucket: "someone-elses-bucket" })],
    });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe("events of bucket(s) someone-elses-bucket, which HOOK_BUCKETS does not name");
    expect(api.calls).toHaveLength(0);
    expect((await auditRows()).at(-1)).toMatchObject({ actor: "hook", action: "hook", result: "refused", status: 400 });
  });

  it("events older than two days are refused as replays", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const old = new Date(Date.now() - 3 * 24 * 3600 * 1000).toISOString();
    const res = await hook(admin, { body: objectCreated("0000000000000000000000000000000i.narinfo", { time: old }) });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/older than 48 hours/);
  });

  it("repro: over 64 KiB: 413 before reading (Content-Length) or while reading (no length), audited", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const before = (await auditRows()).length;
    const declared = await hook(admin, {
      rawBody: "[]",
      headers: { ...headers, "content-length": String(10 * 1024 * 1024) },
    });
    expect(declared.status).toBe(413);
    const big = "[" + " ".repeat(70 * 1024) + "]";
    const streamed = await callAdmin(admin, "POST", "/v1/hooks/object-created", {
      token: null,
      headers,
      rawBody: undefined,
      stream: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(big));
          c.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    const rows = (await auditRows()).slice(before);
    expect(rows.map((r) => [r.action, r.result, r.status])).toEqual([
      ["hook", "refused", 413],
      ["hook", "refused", 413],
    ]);
  });

  it("a failed purge records no sequencer, so EventBridge's retry purges", async () => {
    fakeCloudflareApi([403]);
    const { admin } = await envs();
    const event = objectCreated("0000000000000000000000000000000j.narinfo");
    const failed = await hook(admin, { body: event });
    expect(failed.status).toBe(502);
    expect(failed.json.result).toBe("partial");
    restoreFetch();
    const api = fakeCloudflareApi();
    const retried = await hook(admin, { body: event });
    expect(retried.status).toBe(200);
    expect(retried.json.purged).toHaveLength(1);
    expect(api.purged()).toHaveLength(1);
  });
});
