import { afterEach, describe, expect, it } from "vitest";
import {
  auditRows,
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

afterEach(restoreFetch);

describe("POST /v1/delete", () => {
  it("removes narinfo, listing and NAR from R2, then purges them: the cache answers 404", async () => {
    await seedR2(bindings().NAR_BUCKET, "zstd");
    const api = fakeCloudflareApi();
    const { admin, cache } = await envs();
    const dep = fixturePath("feas-dep");
    for (const p of [`/${dep.hashPart}.narinfo`, `/${dep.zstd.url}`]) {
      await callCache(cache, p);
      expect((await callCache(cache, p)).headers.get("x-cache-status")).toBe("HIT");
    }
    const dry = await callAdmin(admin, "POST", "/v1/delete", {
      token: "delete",
      body: { paths: [dep.storePath], dry_run: true },
    });
    expect(dry.status).toBe(200);
    expect(dry.json.paths[0].deletions).toEqual([
      {
        origin: "r2:NAR_BUCKET",
        keys: [`${dep.hashPart}.narinfo`, `${dep.hashPart}.ls`, dep.zstd.url],
        status: "would-delete",
      },
    ]);
    expect(await bindings().NAR_BUCKET.head(dep.zstd.url)).not.toBeNull();

    const res = await callAdmin(admin, "POST", "/v1/delete", { token: "delete", body: { paths: [dep.storePath] } });
    expect(res.status).toBe(200);
    expect(res.json.paths[0].deletions[0].status).toBe("deleted");
    expect(res.json.warnings).toEqual([]);
    for (const key of [`${dep.hashPart}.narinfo`, `${dep.hashPart}.ls`, dep.zstd.url])
      expect(await bindings().NAR_BUCKET.head(key)).toBeNull();
    expect((await callCache(cache, `/${dep.hashPart}.narinfo`)).status).toBe(404);
    expect((await callCache(cache, `/${dep.zstd.url}`)).status).toBe(404);
    expect(api.purged()).toEqual(res.json.paths[0].urls);
    expect((await auditRows()).at(-1)).toMatchObject({ action: "delete", result: "ok", actor: "delete-admin" });
  });

  it("warns that an S3 origin still has the path unless ALLOW_S3_DELETE, and deletes there when allowed", async () => {
    await seedR2(bindings().NAR_BUCKET, "xz");
    const app = fixturePath("feas-app");
    const s3Requests: Request[] = [];
    const s3 = (request: Request) => {
      s3Requests.push(request);
      const key = decodeURIComponent(new URL(request.url).pathname.replace(/^\/nix-cache\//, ""));
      if (request.method === "DELETE") return new Response(null, { status: 204 });
      return key === `${app.hashPart}.narinfo`
        ? new Response(request.method === "HEAD" ? null : fixtureText(app.xz.narinfoPath))
        : new Response(null, { status: 404 });
    };
    const origins = [
      { type: "r2", binding: "NAR_BUCKET" },
      {
        type: "s3",
        name: "s3-test",
        bucket: "nix-cache",
        endpoint: "https://s3.stub",
        requesterPays: true,
        credentials: "S3",
      },
    ];
    const secrets = { S3_ACCESS_KEY_ID: "AKIDEXAMPLE", S3_SECRET_ACCESS_KEY: "s3-secret-for-tests" };

    fakeCloudflareApi([], s3);
    const kept = await envs({ ORIGINS: origins, ...secrets });
    const res = await callAdmin(kept.admin, "POST", "/v1/delete", { body: { paths: [app.hashPart] } });
    expect(res.status).toBe(200);
    expect(res.json.paths[0].deletions.map((d: any) => d.origin)).toEqual(["r2:NAR_BUCKET"]);
    expect(res.json.warnings).toEqual([
      `${app.hashPart}: still in s3-test; the cache will serve it again from there (block it to hide it)`,
    ]);
    expect(s3Requests.filter((r) => r.method === "DELETE")).toHaveLength(0);
    expect(res.text).not.toContain("s3-secret-for-tests");

    const allowed = await envs({ ORIGINS: origins, ...secrets, ALLOW_S3_DELETE: "true" });
    const res2 = await callAdmin(allowed.admin, "POST", "/v1/delete", { body: { paths: [app.hashPart] } });
    expect(res2.status).toBe(200);
    expect(res2.json.paths[0].deletions.map((d: any) => [d.origin, d.status])).toEqual([
      ["r2:NAR_BUCKET", "deleted"],
      ["s3-test", "deleted"],
    ]);
    const deletes = s3Requests.filter((r) => r.method === "DELETE");
    expect(deletes.map((r) => new URL(r.url).pathname)).toEqual([
      `/nix-cache/${app.hashPart}.narinfo`,
      `/nix-cache/${app.hashPart}.ls`,
      `/nix-cache/${app.xz.url}`,
    ]);
    expect(deletes[0]!.headers.get("authorization")).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    expect(deletes[0]!.headers.get("x-amz-request-payer")).toBe("requester");
  });

  it("repro: a delete while the narinfo lookup fails: 502 partial naming the NAR not deleted, never 200", async () => {
    await seedR2(bindings().NAR_BUCKET, "zstd");
    const dep = fixturePath("feas-dep");
    // R2 no longer has the narinfo and the second origin (a stub) is down: the NAR cannot be named.
    await bindings().NAR_BUCKET.delete(`${dep.hashPart}.narinfo`);
    fakeCloudflareApi([], () => new Response("unavailable", { status: 503 }));
    const { admin } = await envs({
      ORIGINS: [
        { type: "r2", binding: "NAR_BUCKET" },
        { type: "http", url: "https://upstream.stub", breakerFailures: 100 },
      ],
    });
    const res = await callAdmin(admin, "POST", "/v1/delete", { body: { paths: [dep.hashPart] } });
    expect(res.status).toBe(502);
    expect(res.json.result).toBe("partial");
    expect(res.json.incomplete).toEqual([
      expect.stringMatching(new RegExp(`^${dep.hashPart}: an origin failed .*they are still served$`)),
    ]);
    expect(await bindings().NAR_BUCKET.head(dep.zstd.url)).not.toBeNull();
    expect((await auditRows()).at(-1)).toMatchObject({ action: "delete", result: "partial", status: 502 });

    const purge = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: [dep.hashPart] } });
    expect(purge.status).toBe(502);
    expect(purge.json.result).toBe("partial");
  });
});
