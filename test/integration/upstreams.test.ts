/**
 * Upstream caches that are not buckets Nix wrote (issue 10 §1, §2, §7): NAR names that are not file hashes,
 * query strings that pick the file, what is kept from an origin the worker cannot verify, and what clients learn
 * about origins. The upstreams are stubs shaped after ncps and harmonia, and each test says so.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  bucket,
  bytesOf,
  call,
  emptyBucket,
  fixtureBytes,
  fixturePath,
  fixtureText,
  fixtureUpstream,
  r2,
  stubOrigins,
  testEnv,
  upstream,
} from "./harness";

beforeEach(() => emptyBucket(bucket()));
afterEach(() => vi.restoreAllMocks());

/** A NAR URL of the nix32 shape whose bytes are not what the name says (ncps re-serves files under their NarHash). */
const OPAQUE_NAR = `nar/${"0".repeat(52)}.nar.zst`;
const LOG = `log/${"b".repeat(32)}-tool.drv`;

/** A plain answer with its Content-Length, as a static server sends it. */
const file = (text: string) =>
  new Response(text, { headers: { "content-length": String(new TextEncoder().encode(text).byteLength) } });

describe("§1 NAR names are opaque for origins that say so", () => {
  it("by default (a bucket Nix writes) a NAR whose bytes differ from its name is refused: 502, not kept", async () => {
    stubOrigins(() => file("zstd bytes named by their NarHash"));
    const res = await call(testEnv({ ORIGINS: [upstream("ncps")] }), `/${OPAQUE_NAR}`);
    expect(res.status).toBe(502);
  });

  it('narNames = "opaque": served as the origin has the file (stub like ncps), kept NARINFO_TTL only', async () => {
    stubOrigins(() => file("zstd bytes named by their NarHash"));
    const env = testEnv({ ORIGINS: [upstream("ncps", { narNames: "opaque" })] });
    const res = await call(env, `/${OPAQUE_NAR}`);
    expect(res.status).toBe(200);
    // Read as bytes: `.text()` on a NAR makes workerd warn on the console.
    expect(new TextDecoder().decode(await bytesOf(res))).toBe("zstd bytes named by their NarHash");
    expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
    // The edge copy is not re-checked against the name either: the hit is whole.
    const hit = await call(env, `/${OPAQUE_NAR}`);
    expect(hit.headers.get("x-cache-status")).toBe("HIT");
    expect(new TextDecoder().decode(await bytesOf(hit))).toBe("zstd bytes named by their NarHash");
  });

  it("a checked NAR is kept for NAR_TTL as immutable", async () => {
    stubOrigins(fixtureUpstream("xz"));
    const app = fixturePath("feas-app");
    const res = await call(testEnv({ ORIGINS: [upstream("up")] }), `/${app.xz.url}`);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  });

  it("narNames must be file-hash or opaque", async () => {
    const res = await call(testEnv({ ORIGINS: [upstream("x", { narNames: "sometimes" })] }), `/${OPAQUE_NAR}`);
    expect(res.status).toBe(500);
  });
});

describe("§2 the query of a file request goes to upstream HTTP caches", () => {
  it("a NAR that needs ?hash= (stub shaped like harmonia) is served, and cached under its path alone", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    const stub = stubOrigins((req) =>
      new URL(req.url).searchParams.get("hash") === app.hashPart
        ? fixtureUpstream("xz")(new Request(req.url.split("?")[0]!))
        : new Response("", { status: 404 }),
    );
    const env = testEnv({ ORIGINS: [upstream("harmonia")] });
    const res = await call(env, `/${app.xz.url}?hash=${app.hashPart}`);
    expect(res.status).toBe(200);
    expect(await bytesOf(res)).toEqual(good);
    expect(new URL(stub.requests[0]!.url).search).toBe(`?hash=${app.hashPart}`);
    // Checked against its name, so the same bytes whatever the query: one cache entry for the path.
    const again = await call(env, `/${app.xz.url}`);
    expect(again.headers.get("x-cache-status")).toBe("HIT");
  });

  it("an unchecked file fetched with a query is not kept (the query may have picked another file)", async () => {
    stubOrigins(() => file("opaque"));
    const env = testEnv({ ORIGINS: [upstream("harmonia", { narNames: "opaque" })] });
    const res = await call(env, `/${OPAQUE_NAR}?hash=${"1".repeat(32)}`);
    expect(res.headers.get("x-cache-status")).toBe("BYPASS");
    expect((await call(env, `/${OPAQUE_NAR}`)).headers.get("x-cache-status")).toBe("MISS");
  });

  it("S3 and R2 origins never see the query", async () => {
    const stub = stubOrigins(() => new Response("log\n"));
    const s3 = { type: "s3", endpoint: "http://s3.stub", bucket: "b", credentials: "S3" };
    await call(
      testEnv({ ORIGINS: [s3], S3_ACCESS_KEY_ID: "AKIDTEST", S3_SECRET_ACCESS_KEY: "test-secret-not-real" }),
      `/${LOG}?x=1`,
    );
    expect(new URL(stub.requests[0]!.url).search).toBe("");
  });
});

describe("§7 nothing unverified kept for long", () => {
  it("a log from an untrusted (default http) upstream: kept NARINFO_TTL at the edge, never copied to R2", async () => {
    stubOrigins(() => new Response("build log\n"));
    const env = testEnv({ ORIGINS: [r2({ backfill: true }), upstream("up")], NARINFO_TTL: "600" });
    const res = await call(env, `/${LOG}`);
    expect(res.headers.get("cache-control")).toBe("public, max-age=600");
    expect(await bucket().head(LOG)).toBeNull();
  });

  it("a log from an upstream marked trusted is copied into R2", async () => {
    stubOrigins(() => new Response("build log\n"));
    await call(testEnv({ ORIGINS: [r2({ backfill: true }), upstream("up", { trusted: true })] }), `/${LOG}`);
    expect(await (await bucket().get(LOG))?.text()).toBe("build log\n");
  });

  it("an opaque-named NAR from an untrusted upstream is not copied into R2; a checked NAR from it is", async () => {
    stubOrigins((req) => (new URL(req.url).host === "ncps.stub" ? file("opaque") : fixtureUpstream("xz")(req)));
    await call(
      testEnv({ ORIGINS: [r2({ backfill: true }), upstream("ncps", { narNames: "opaque" })] }),
      `/${OPAQUE_NAR}`,
    );
    expect(await bucket().head(OPAQUE_NAR)).toBeNull();
    const app = fixturePath("feas-app");
    await call(testEnv({ ORIGINS: [r2({ backfill: true }), upstream("cache")] }), `/${app.xz.url}`);
    expect(new Uint8Array(await (await bucket().get(app.xz.url))!.arrayBuffer())).toEqual(fixtureBytes(app.xz.narPath));
  });

  it("Server-Timing shows no origin names or outcomes unless SERVER_TIMING_ORIGINS is set", async () => {
    stubOrigins(fixtureUpstream("xz"));
    const dep = fixturePath("feas-dep");
    const res = await call(
      testEnv({ ORIGINS: [upstream("secret-upstream")], SERVER_TIMING_ORIGINS: undefined }),
      `/${dep.hashPart}.narinfo`,
    );
    const timing = res.headers.get("server-timing") ?? "";
    expect(timing).toMatch(/^origin-0;dur=\d+, total;dur=\d+$/);
    expect(timing).not.toContain("secret-upstream");
  });

  it("a 401 from an upstream is a failed origin (502, retryable), not absent", async () => {
    stubOrigins(() => new Response("Unauthorized", { status: 401 }));
    const res = await call(testEnv({ ORIGINS: [upstream("private")] }), `/${fixturePath("feas-dep").hashPart}.narinfo`);
    expect(res.status).toBe(502);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Response(bytes).body!.pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe("§3 Content-Encoding", () => {
  it("a narinfo stored in R2 with Content-Encoding gzip (narinfo-compression) is decoded and served", async () => {
    const dep = fixturePath("feas-dep");
    const text = fixtureText(dep.xz.narinfoPath);
    await bucket().put(`${dep.hashPart}.narinfo`, await gzip(new TextEncoder().encode(text)), {
      httpMetadata: { contentEncoding: "gzip" },
    });
    const res = await call(testEnv(), `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(text);
  });

  it("a gzip narinfo from an upstream (stub) is decoded too", async () => {
    const dep = fixturePath("feas-dep");
    const text = fixtureText(dep.xz.narinfoPath);
    const body = await gzip(new TextEncoder().encode(text));
    stubOrigins(() => new Response(body, { headers: { "content-encoding": "gzip" } }));
    const res = await call(testEnv({ ORIGINS: [upstream("up")] }), `/${dep.hashPart}.narinfo`);
    expect(await res.text()).toBe(text);
  });

  it("a narinfo in an encoding the runtime cannot decode (xz) is a failed origin: 502, no 404 cached", async () => {
    const dep = fixturePath("feas-dep");
    await bucket().put(`${dep.hashPart}.narinfo`, new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]), {
      httpMetadata: { contentEncoding: "xz" },
    });
    const env = testEnv();
    const res = await call(env, `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(502);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("upstream requests ask for identity; a NAR gzipped on the fly (stub) reaches the client as stored", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    const body = await gzip(good);
    const stub = stubOrigins(
      () => new Response(body, { headers: { "content-encoding": "gzip", "content-length": String(body.byteLength) } }),
    );
    const res = await call(testEnv({ ORIGINS: [upstream("compressing")] }), `/${app.xz.url}`);
    expect(stub.requests[0]!.headers.get("accept-encoding")).toBe("identity");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await bytesOf(res)).toEqual(good);
  });
});
