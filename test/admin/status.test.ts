import { afterEach, describe, expect, it } from "vitest";
import {
  bindings,
  callAdmin,
  callCache,
  envs,
  fakeCloudflareApi,
  fixturePath,
  fixtureText,
  restoreFetch,
  seedR2,
} from "./harness";
import { NIX_CONTENT_ADDRESSED } from "../unit/nixVectors";

afterEach(restoreFetch);

describe("GET /v1/paths/<hash>", () => {
  it("reports origins, this data centre's edge cache, the block, and a valid signature", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const { admin, cache } = await envs();
    const app = fixturePath("feas-app");
    await callCache(cache, `/${app.hashPart}.narinfo`);
    const res = await callAdmin(admin, "GET", `/v1/paths/${app.hashPart}`, { token: "read" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json).toMatchObject({
      hash: app.hashPart,
      storePath: app.storePath,
      blocked: null,
      narinfo: { origin: "r2:NAR_BUCKET", url: app.xz.url, narSize: 960 },
      signature: { valid: true, key: "cache-test-1" },
      origins: [{ name: "r2:NAR_BUCKET", type: "r2", narinfo: "present", nar: "present" }],
      edge: { objects: { [`${app.hashPart}.narinfo`]: "cached", [app.xz.url]: "not-cached" } },
    });
  });

  it("says when a narinfo would be refused (untrusted key) and when a path is nowhere", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const { admin } = await envs({ TRUSTED_PUBLIC_KEYS: "other-key-1:md02nb9cJ0f43Yapj5TiC/kdbfRi3wpZyyG3ptGfF3c=" });
    const dep = fixturePath("feas-dep");
    const res = await callAdmin(admin, "GET", `/v1/paths/${dep.storePath.slice("/nix/store/".length)}`, {
      token: "read",
    });
    expect(res.json.signature).toEqual({ valid: false, reason: "no-trusted-key" });
    const tampered = fixtureText(dep.xz.narinfoPath).replace("NarSize: 176", "NarSize: 177");
    await bindings().NAR_BUCKET.put(`${dep.hashPart}.narinfo`, tampered);
    const trusted = await envs();
    expect((await callAdmin(trusted.admin, "GET", `/v1/paths/${dep.hashPart}`)).json.signature).toEqual({
      valid: false,
      reason: "bad-signature",
    });
    const none = await callAdmin(admin, "GET", "/v1/paths/0000000000000000000000000000000f");
    expect(none.json).toMatchObject({ narinfo: "absent", signature: null, origins: [{ narinfo: "absent" }] });
    expect((await callAdmin(admin, "GET", "/v1/paths/xyz")).status).toBe(400);
  });

  it("reports an unsigned content-addressed narinfo as valid, as the cache worker serves it", async () => {
    const [file, v] = Object.entries(NIX_CONTENT_ADDRESSED).find(([, x]) => x.form === "fixed:sha256")!;
    await bindings().NAR_BUCKET.put(file, v.text);
    const { admin, cache } = await envs();
    expect((await callCache(cache, `/${file}`)).status).toBe(200);
    const res = await callAdmin(admin, "GET", `/v1/paths/${file.slice(0, -".narinfo".length)}`, { token: "read" });
    expect(res.json).toMatchObject({ storePath: v.storePath, signature: { valid: true, contentAddressed: true } });
    // The same narinfo with its CA pointing at other content: refused by both.
    const forged = v.text.replace(
      /^CA: fixed:sha256:(.)/m,
      (_, c: string) => `CA: fixed:sha256:${c === "0" ? "1" : "0"}`,
    );
    await bindings().NAR_BUCKET.put(file, forged);
    const again = await envs();
    expect((await callCache(again.cache, `/${file}`)).status).toBe(404);
    const refused = await callAdmin(again.admin, "GET", `/v1/paths/${file.slice(0, -".narinfo".length)}`);
    expect(refused.json.signature).toEqual({ valid: false, reason: "unsigned" });
  });

  it("finds a narinfo stored gzip-compressed in R2 (narinfo-compression), as the cache worker does", async () => {
    const dep = fixturePath("feas-dep");
    const text = fixtureText(dep.xz.narinfoPath);
    const gzipped = new Uint8Array(
      await new Response(new Response(text).body!.pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
    await bindings().NAR_BUCKET.put(`${dep.hashPart}.narinfo`, gzipped, { httpMetadata: { contentEncoding: "gzip" } });
    const { admin } = await envs();
    const res = await callAdmin(admin, "GET", `/v1/paths/${dep.hashPart}`, { token: "read" });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      storePath: dep.storePath,
      narinfo: { origin: "r2:NAR_BUCKET", url: dep.xz.url, narSize: 176 },
      signature: { valid: true, key: "cache-test-1" },
    });
  });

  it("accepts a URL-encoded store path", async () => {
    fakeCloudflareApi();
    await seedR2(bindings().NAR_BUCKET);
    const { admin } = await envs();
    const lib = fixturePath("feas-c++-lib");
    const res = await callAdmin(admin, "GET", `/v1/paths/${encodeURIComponent(lib.storePath)}`);
    expect(res.status).toBe(200);
    expect(res.json.storePath).toBe(lib.storePath);
  });
});
