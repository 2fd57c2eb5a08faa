import { beforeEach, describe, expect, it } from "vitest";
import { bytesOf, call, fixtureBytes, fixturePath, fixtureText, seedR2, testEnv } from "./harness";
import { bucket, emptyBucket } from "./harness";

beforeEach(() => emptyBucket(bucket()));

describe("endpoints served from R2", () => {
  it("nix-cache-info carries cache.nixos.org's values by default", async () => {
    const res = await call(testEnv(), "/nix-cache-info");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/x-nix-cache-info");
    expect(await res.text()).toBe("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n");
  });

  it("nix-cache-info follows PRIORITY, WANT_MASS_QUERY and STORE_DIR", async () => {
    const res = await call(testEnv({ PRIORITY: "10", WANT_MASS_QUERY: "0" }), "/nix-cache-info");
    expect(await res.text()).toBe("StoreDir: /nix/store\nWantMassQuery: 0\nPriority: 10\n");
  });

  it("serves a signed narinfo byte for byte with its content type", async () => {
    await seedR2(bucket());
    const dep = fixturePath("feas-app");
    const res = await call(testEnv(), `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/x-nix-narinfo");
    expect(res.headers.get("x-cache-status")).toBe("MISS");
    expect(await res.text()).toBe(fixtureText(dep.xz.narinfoPath));
  });

  it("answers byte ranges of a narinfo on a miss and on a hit (206, 416)", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const text = fixtureText(app.xz.narinfoPath);
    const env = testEnv();
    for (const phase of ["miss", "hit"]) {
      const res = await call(env, `/${app.hashPart}.narinfo`, { headers: { range: "bytes=0-9" } });
      expect(res.status, phase).toBe(206);
      expect(res.headers.get("content-range"), phase).toBe(`bytes 0-9/${text.length}`);
      expect(await res.text(), phase).toBe(text.slice(0, 10));
      if (phase === "miss") expect((await call(env, `/${app.hashPart}.narinfo`)).status).toBe(200);
    }
    const beyond = await call(env, `/${app.hashPart}.narinfo`, { headers: { range: "bytes=99999-" } });
    expect(beyond.status).toBe(416);
  });

  it("HEAD of a narinfo answers like GET without a body", async () => {
    await seedR2(bucket());
    const dep = fixturePath("feas-dep");
    const res = await call(testEnv(), `/${dep.hashPart}.narinfo`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/x-nix-narinfo");
    expect((await bytesOf(res)).byteLength).toBe(0);
  });

  it("serves NARs (xz and zstd) as stored, with Content-Length and Accept-Ranges", async () => {
    for (const variant of ["xz", "zstd"] as const) {
      await seedR2(bucket(), variant);
      const app = fixturePath("feas-app")[variant];
      const res = await call(testEnv(), `/${app.url}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/x-nix-nar");
      expect(res.headers.get("accept-ranges")).toBe("bytes");
      const want = fixtureBytes(app.narPath);
      expect(res.headers.get("content-length")).toBe(String(want.byteLength));
      expect(await bytesOf(res)).toEqual(want);
    }
  });

  it("serves .ls listings as JSON", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const res = await call(testEnv(), `/${app.hashPart}.ls`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(await res.text())).toMatchObject({ version: 1 });
  });

  it("passes a stored Content-Encoding through untouched (brotli listing)", async () => {
    const app = fixturePath("feas-app");
    const raw = new Uint8Array([0x0b, 0x02, 0x80, 0x7b, 0x7d, 0x03]); // brotli-compressed "{}"
    await bucket().put(`${app.hashPart}.ls`, raw, {
      httpMetadata: { contentEncoding: "br", contentType: "application/json" },
    });
    const res = await call(testEnv(), `/${app.hashPart}.ls`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("br");
    expect(await bytesOf(res)).toEqual(raw);
  });

  it("serves logs, realisations, build traces and debuginfo with their content types", async () => {
    const drv = fixturePath("feas-app")
      .storePath.replace("/nix/store/", "")
      .replace(/-feas-app$/, "-feas-app.drv");
    const objects: [string, string, string][] = [
      [`log/${drv}`, "building\n", "text/plain; charset=utf-8"],
      [`realisations/sha256:${"a".repeat(64)}!out.doi`, "{}", "application/json"],
      [`build-trace-v2/${drv}/out.doi`, "{}", "application/json"],
      [
        `debuginfo/${"0123456789abcdef0123".repeat(2)}`,
        '{"archive":"../nar/x.nar.xz","member":"x"}',
        "application/json",
      ],
    ];
    for (const [key, body, type] of objects) {
      await bucket().put(key, body);
      const res = await call(testEnv(), `/${key}`);
      expect(res.status, key).toBe(200);
      expect(res.headers.get("content-type"), key).toBe(type);
      expect(await res.text()).toBe(body);
    }
  });

  it("serves debuginfo in both forms, `<build id>` and `<build id>.debug`, as separate objects", async () => {
    const id = "0123456789abcdef0123".repeat(2);
    await bucket().put(`debuginfo/${id}`, '{"archive":"../nar/bare.nar.xz","member":"a"}');
    await bucket().put(`debuginfo/${id}.debug`, '{"archive":"../nar/dot.nar.xz","member":"b"}');
    for (const [path, archive] of [
      [`debuginfo/${id}`, "bare"],
      [`debuginfo/${id}.debug`, "dot"],
    ] as const) {
      const res = await call(testEnv(), `/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe("application/json");
      expect(JSON.parse(await res.text()).archive, path).toBe(`../nar/${archive}.nar.xz`);
    }
  });

  it("a well-formed debuginfo name nobody has is 404 in both forms", async () => {
    const id = "fedcba9876543210fedc".repeat(2);
    for (const path of [`/debuginfo/${id}`, `/debuginfo/${id}.debug`]) {
      const res = await call(testEnv(), path);
      expect(res.status, path).toBe(404);
    }
  });

  it("serves NARs under a deeper path such as snix's nar/snix-castore/<blob>", async () => {
    const key = "nar/snix-castore/AbCd_0123-xyz";
    const body = new Uint8Array([1, 2, 3, 4, 5]);
    await bucket().put(key, body);
    const res = await call(testEnv(), `/${key}?narsize=5`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-nix-nar");
    expect(await bytesOf(res)).toEqual(body);
    expect((await call(testEnv(), "/nar/snix-castore/missing")).status).toBe(404);
  });

  it("maps `+` and `%2B` in a name to one object", async () => {
    const drv = `${"x".repeat(32)}-feas-c++-lib.drv`;
    await bucket().put(`log/${drv}`, "log of c++\n");
    const env = testEnv();
    const raw = await call(env, `/log/${drv}`);
    const encoded = await call(env, `/log/${drv.replace(/\+/g, "%2B")}`);
    expect(await raw.text()).toBe("log of c++\n");
    expect(await encoded.text()).toBe("log of c++\n");
    expect(encoded.headers.get("x-cache-status")).toBe("HIT");
  });

  it("ignores query strings", async () => {
    await seedR2(bucket());
    const dep = fixturePath("feas-dep");
    const res = await call(testEnv(), `/${dep.hashPart}.narinfo?x=1`);
    expect(res.status).toBe(200);
  });

  it("serves a landing page at /", async () => {
    const res = await call(testEnv(), "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await res.text()).toContain("trusted-public-keys");
  });
});

describe("bad requests", () => {
  it.each([
    ["/not-a-hash.narinfo", 400],
    ["/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.narinfo", 400],
    ["/nar/.hidden", 400],
    ["/nar/a%2Fb", 400],
    ["/nar/%2e%2e%2fsecret", 400],
    ["/log/notadrv", 400],
    ["/realisations/sha256:xyz!out.doi", 400],
    ["/debuginfo/nothex", 400],
    ["/debuginfo/0123456789abcdef0123456789abcdef01234567.dbg", 400],
    ["/debuginfo/0123456789abcdef0123456789abcdef01234567.debug.debug", 400],
    ["/nar/snix-castore/..", 400],
    // The URL parser resolves "..", also spelled %2e%2e, before routing: these ask for /secret, no route.
    ["/nar/../secret", 404],
    ["/nar/%2e%2e/secret", 404],
    ["/nar/snix-castore/%2e%2e", 400],
    ["/nar/snix-castore/a%2Fb", 400],
    ["/nar/snix-castore/a%0Ab", 400],
    ["/nar/snix-castore/a%5Cb", 400],
    ["/nar//blob", 400],
    ["/nar/snix-castore/", 400],
    ["/nar/a/b/c", 404],
    ["/nar/%zz", 400],
    ["/some/unknown/path", 404],
    ["/favicon.ico", 404],
  ])("%s → %i, not cached", async (path, status) => {
    const res = await call(testEnv(), path);
    expect(res.status).toBe(status);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("other methods get 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const res = await call(testEnv(), "/nix-cache-info", { method, body: method === "DELETE" ? undefined : "x" });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
    }
  });

  it("a missing narinfo is 404", async () => {
    const res = await call(testEnv(), `/${"0".repeat(32)}.narinfo`);
    expect(res.status).toBe(404);
  });

  it("a missing NAR is 404 and not cached", async () => {
    const res = await call(testEnv(), `/nar/${"1".repeat(52)}.nar.xz`);
    expect(res.status).toBe(404);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("without trusted keys the worker refuses to serve (500), failing closed", async () => {
    const res = await call(testEnv({ TRUSTED_PUBLIC_KEYS: "" }), `/${"0".repeat(32)}.narinfo`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("Internal Server Error\n");
  });
});
