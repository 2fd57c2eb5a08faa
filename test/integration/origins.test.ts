import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  bytesOf,
  call,
  fixtureBytes,
  fixturePath,
  fixtureText,
  fixtureUpstream,
  seedR2,
  stubOrigins,
  testEnv,
  upstream,
} from "./harness";
import { bucket, emptyBucket } from "./harness";

beforeEach(() => emptyBucket(bucket()));
const s3 = (extra: Record<string, unknown> = {}) => ({
  type: "s3",
  name: "s3-test",
  endpoint: "http://s3.stub",
  bucket: "nix-cache",
  region: "us-east-1",
  requesterPays: true,
  credentials: "S3",
  ...extra,
});
const s3Secrets = { S3_ACCESS_KEY_ID: "AKIDTEST", S3_SECRET_ACCESS_KEY: "test-secret-not-real" };

afterEach(() => {
  vi.restoreAllMocks();
});

describe("origin chain", () => {
  it("serves from an upstream HTTP cache, and from the edge cache the second time", async () => {
    const stub = stubOrigins(fixtureUpstream("zstd"));
    const app = fixturePath("feas-app");
    const env = testEnv({ ORIGINS: [upstream("upstream")] });
    const first = await call(env, `/${app.hashPart}.narinfo`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(fixtureText(app.zstd.narinfoPath));
    const nar = await call(env, `/${app.zstd.url}`);
    expect(await bytesOf(nar)).toEqual(fixtureBytes(app.zstd.narPath));
    const before = stub.requests.length;
    expect((await call(env, `/${app.hashPart}.narinfo`)).headers.get("x-cache-status")).toBe("HIT");
    expect((await call(env, `/${app.zstd.url}`)).headers.get("x-cache-status")).toBe("HIT");
    expect(stub.requests.length).toBe(before);
  });

  it("forwards no client headers and no query string upstream", async () => {
    const stub = stubOrigins(fixtureUpstream());
    const dep = fixturePath("feas-dep");
    await call(testEnv({ ORIGINS: [upstream("upstream")] }), `/${dep.hashPart}.narinfo?secret=1`, {
      headers: { authorization: "Bearer client-token", cookie: "a=b", "user-agent": "curl/7.85.0 Nix/2.8.0" },
    });
    const sent = stub.requests[0]!;
    expect(new URL(sent.url).search).toBe("");
    expect(sent.headers.get("authorization")).toBeNull();
    expect(sent.headers.get("cookie")).toBeNull();
  });

  it("a miss in every origin is 404, cached for NEGATIVE_TTL", async () => {
    const stub = stubOrigins(() => new Response("nope", { status: 404 }));
    const env = testEnv({ ORIGINS: [{ type: "r2", binding: "NAR_BUCKET" }, upstream("a"), upstream("b")] });
    const hash = "1".repeat(32);
    const first = await call(env, `/${hash}.narinfo`);
    expect(first.status).toBe(404);
    expect(first.headers.get("cache-control")).toBe("public, max-age=300");
    expect(stub.requests.map((r) => new URL(r.url).host)).toEqual(["a.stub", "b.stub"]);
    const second = await call(env, `/${hash}.narinfo`);
    expect(second.status).toBe(404);
    expect(second.headers.get("x-cache-status")).toBe("HIT");
    expect(stub.requests).toHaveLength(2);
  });

  it("an origin answering 500 (stub) moves on to the next origin", async () => {
    stubOrigins((req) =>
      new URL(req.url).host === "broken.stub" ? new Response("boom", { status: 500 }) : fixtureUpstream()(req),
    );
    const dep = fixturePath("feas-dep");
    const res = await call(testEnv({ ORIGINS: [upstream("broken"), upstream("good")] }), `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toContain("broken.stub failed");
  });

  it("when every origin fails (stub 503), the client gets a retryable 502 that is not cached", async () => {
    const stub = stubOrigins(() => new Response("SlowDown", { status: 503 }));
    const env = testEnv({ ORIGINS: [upstream("a"), upstream("b")] });
    const res = await call(env, `/${"2".repeat(32)}.narinfo`);
    expect(res.status).toBe(502);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("retry-after")).toBe("1");
    await call(env, `/${"2".repeat(32)}.narinfo`);
    expect(stub.requests).toHaveLength(4);
  });

  it("one origin failing and the others absent is still a 502: the path may be in the failed one", async () => {
    stubOrigins((req) => new Response("", { status: new URL(req.url).host === "down.stub" ? 500 : 404 }));
    const res = await call(testEnv({ ORIGINS: [upstream("down"), upstream("empty")] }), `/${"3".repeat(32)}.narinfo`);
    expect(res.status).toBe(502);
  });

  it("an origin that never answers (stub) times out after firstByteTimeout and the next origin serves", async () => {
    stubOrigins((req) =>
      new URL(req.url).host === "hang.stub" ? new Promise<Response>(() => {}) : fixtureUpstream()(req),
    );
    const dep = fixturePath("feas-dep");
    const started = Date.now();
    const res = await call(
      testEnv({ ORIGINS: [upstream("hang", { firstByteTimeout: 1 }), upstream("good")] }),
      `/${dep.hashPart}.narinfo`,
    );
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(res.headers.get("server-timing")).toContain("hang.stub failed");
  });

  it("when the only origin times out (stub), the answer is 504", async () => {
    stubOrigins(() => new Promise<Response>(() => {}));
    const res = await call(
      testEnv({ ORIGINS: [upstream("hang", { firstByteTimeout: 1 })] }),
      `/${"4".repeat(32)}.narinfo`,
    );
    expect(res.status).toBe(504);
  });

  it("a body that stalls half-way (stub, streaming path) is cut after betweenBytesTimeout and not cached", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    stubOrigins(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(good.slice(0, 50));
            },
          }),
          { headers: { "content-length": String(good.byteLength) } },
        ),
    );
    const env = testEnv({
      ORIGINS: [upstream("stall", { betweenBytesTimeout: 1 })],
      VERIFY_BEFORE_SEND_MAX_BYTES: "0",
    });
    const { callStreaming } = await import("./harness");
    const { body, settled } = await callStreaming(env, `/${app.xz.url}`);
    await expect(body).rejects.toThrow();
    await settled();
    stubOrigins(fixtureUpstream());
    const again = await call(env, `/${app.xz.url}`);
    expect(again.headers.get("x-cache-status")).toBe("MISS");
    expect(await bytesOf(again)).toEqual(good);
  });

  it("the circuit breaker skips a failing origin after 3 failures, then probes it after the cooldown", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      let downStatus = 500;
      const stub = stubOrigins((req) =>
        new URL(req.url).host === "down.stub"
          ? new Response("", { status: downStatus })
          : new Response("", { status: 404 }),
      );
      const env = testEnv({
        ORIGINS: [upstream("down", { breakerFailures: 3, breakerCooldown: 30 }), upstream("good")],
        NEGATIVE_TTL: "0",
      });
      const downCalls = () => stub.requests.filter((r) => new URL(r.url).host === "down.stub").length;
      const miss = (n: number) => call(env, `/${String(n).padStart(32, "0")}.narinfo`);
      for (let i = 0; i < 3; i++) expect((await miss(i)).status).toBe(502);
      expect(downCalls()).toBe(3);
      // Open: the dead origin is not asked; the answer stays retryable since it might hold the path.
      const skipped = await miss(10);
      expect(skipped.status).toBe(502);
      expect(skipped.headers.get("server-timing")).toContain("down.stub skipped");
      expect(downCalls()).toBe(3);
      // After the cooldown one probe goes through; it fails, so the breaker opens again.
      vi.setSystemTime(Date.now() + 31_000);
      await miss(11);
      expect(downCalls()).toBe(4);
      await miss(12);
      expect(downCalls()).toBe(4);
      // Once the origin recovers, the next probe closes the breaker and every request reaches it again.
      vi.setSystemTime(Date.now() + 31_000);
      downStatus = 404;
      expect((await miss(13)).status).toBe(404);
      expect((await miss(14)).status).toBe(404);
      expect(downCalls()).toBe(6);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("Range and HEAD", () => {
  it("a Range request on a miss is passed to the origin and answered 206", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    const res = await call(testEnv(), `/${app.xz.url}`, { headers: { range: "bytes=100-" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 100-${whole.byteLength - 1}/${whole.byteLength}`);
    expect(await bytesOf(res)).toEqual(whole.slice(100));
  });

  it("suffix and bounded ranges, on a miss (R2) and on a hit (edge cache)", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    const env = testEnv();
    for (const phase of ["miss", "hit"]) {
      const suffix = await call(env, `/${app.xz.url}`, { headers: { range: "bytes=-10" } });
      expect(suffix.status, phase).toBe(206);
      expect(await bytesOf(suffix)).toEqual(whole.slice(-10));
      const bounded = await call(env, `/${app.xz.url}`, { headers: { range: "bytes=0-9" } });
      expect(bounded.status, phase).toBe(206);
      expect(await bytesOf(bounded)).toEqual(whole.slice(0, 10));
      if (phase === "miss") await call(env, `/${app.xz.url}`); // fills the edge cache
    }
  });

  it("an unsatisfiable range is 416 with the object's size", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const res = await call(testEnv(), `/${app.xz.url}`, { headers: { range: "bytes=999999-" } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe(`bytes */${fixtureBytes(app.xz.narPath).byteLength}`);
  });

  it("a Range request to an upstream (stub) is forwarded as a Range header", async () => {
    const stub = stubOrigins((req) => {
      const whole = fixtureBytes(fixturePath("feas-app").xz.narPath);
      expect(req.headers.get("range")).toBe("bytes=10-19");
      return new Response(whole.slice(10, 20), {
        status: 206,
        headers: { "content-range": `bytes 10-19/${whole.byteLength}`, "content-length": "10" },
      });
    });
    const app = fixturePath("feas-app");
    const res = await call(testEnv({ ORIGINS: [upstream("ranged")] }), `/${app.xz.url}`, {
      headers: { range: "bytes=10-19" },
    });
    expect(res.status).toBe(206);
    expect(await bytesOf(res)).toEqual(fixtureBytes(app.xz.narPath).slice(10, 20));
    expect(stub.requests).toHaveLength(1);
  });

  it("HEAD of a NAR asks the origin for headers only", async () => {
    const stub = stubOrigins(fixtureUpstream());
    const app = fixturePath("feas-app");
    const res = await call(testEnv({ ORIGINS: [upstream("up")] }), `/${app.xz.url}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(fixtureBytes(app.xz.narPath).byteLength));
    expect(stub.requests[0]!.method).toBe("HEAD");
  });
});

describe("S3 origin (request shape checked on a stub; the real server is in the e2e suite)", () => {
  it("signs with SigV4, asks for Requester Pays, encodes + as %2B, path-style with an endpoint", async () => {
    const stub = stubOrigins(() => new Response("log\n"));
    const drv = `${"x".repeat(32)}-feas-c++-lib.drv`;
    const res = await call(testEnv({ ORIGINS: [s3()], ...s3Secrets }), `/log/${drv}`);
    expect(res.status).toBe(200);
    const sent = stub.requests[0]!;
    expect(sent.url).toBe(`http://s3.stub/nix-cache/log/${"x".repeat(32)}-feas-c%2B%2B-lib.drv`);
    expect(sent.headers.get("x-amz-request-payer")).toBe("requester");
    const auth = sent.headers.get("authorization") ?? "";
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/s3\/aws4_request/);
    expect(auth).toContain("x-amz-request-payer");
    expect(auth).not.toContain("test-secret-not-real");
  });

  it("without an endpoint, uses AWS's virtual-hosted endpoint for the region", async () => {
    const { s3ObjectUrl } = await import("../../src/origins/s3");
    expect(s3ObjectUrl({ bucket: "nix-cache", region: "us-east-1", requesterPays: true }, "nar/a+b.nar.xz")).toBe(
      "https://nix-cache.s3.us-east-1.amazonaws.com/nar/a%2Bb.nar.xz",
    );
  });

  it("S3's 403 AccessDenied for a missing key is absent (404)", async () => {
    stubOrigins(() => new Response("<Error><Code>AccessDenied</Code></Error>", { status: 403 }));
    const res = await call(testEnv({ ORIGINS: [s3()], ...s3Secrets }), `/${"5".repeat(32)}.narinfo`);
    expect(res.status).toBe(404);
  });

  it("S3's 403 SignatureDoesNotMatch is a failed origin: logged, next origin asked", async () => {
    stubOrigins((req) =>
      new URL(req.url).host === "s3.stub"
        ? new Response("<Error><Code>SignatureDoesNotMatch</Code></Error>", { status: 403 })
        : fixtureUpstream()(req),
    );
    const errors = vi.spyOn(console, "warn");
    const dep = fixturePath("feas-dep");
    const res = await call(testEnv({ ORIGINS: [s3(), upstream("up")], ...s3Secrets }), `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(errors.mock.calls.flat().join("\n")).toContain("SignatureDoesNotMatch");
  });

  it("x-amz-* response headers are not passed to clients", async () => {
    stubOrigins(
      () =>
        new Response("{}", { headers: { "x-amz-request-id": "abc", "x-amz-id-2": "def", "x-amz-meta-owner": "x" } }),
    );
    const res = await call(testEnv({ ORIGINS: [s3()], ...s3Secrets }), `/${"6".repeat(32)}.ls`);
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((k) => k.startsWith("x-amz"))).toEqual([]);
  });

  it("an S3 origin that never answers (stub) times out after firstByteTimeout and the next origin serves", async () => {
    const stub = stubOrigins((req) =>
      new URL(req.url).host === "s3.stub" ? new Promise<Response>(() => {}) : fixtureUpstream()(req),
    );
    const dep = fixturePath("feas-dep");
    const res = await call(
      testEnv({ ORIGINS: [s3({ firstByteTimeout: 1 }), upstream("good")], ...s3Secrets }),
      `/${dep.hashPart}.narinfo`,
    );
    // The stub gives up on the hung request only through its abort signal, so the signed request must carry it.
    expect(res.status).toBe(200);
    expect(stub.requests[0]!.headers.get("authorization")).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it("missing credentials are a configuration error (500) that names the secret, not its value", async () => {
    const res = await call(testEnv({ ORIGINS: [s3()] }), `/${"6".repeat(32)}.ls`);
    expect(res.status).toBe(500);
  });
});

describe("backfill to R2", () => {
  it("an object found further down is written to the R2 origin, and the next request is served from R2", async () => {
    const stub = stubOrigins(fixtureUpstream("zstd"));
    const app = fixturePath("feas-app");
    const origins = [{ type: "r2", binding: "NAR_BUCKET", backfill: true }, upstream("up")];
    const env = testEnv({ ORIGINS: origins });
    expect((await call(env, `/${app.hashPart}.narinfo`)).status).toBe(200);
    expect((await call(env, `/${app.zstd.url}`)).status).toBe(200);
    expect(await (await bucket().get(`${app.hashPart}.narinfo`))?.text()).toBe(fixtureText(app.zstd.narinfoPath));
    expect(new Uint8Array(await (await bucket().get(app.zstd.url))!.arrayBuffer())).toEqual(
      fixtureBytes(app.zstd.narPath),
    );
    // A fresh edge (new PUBLIC_URL → empty cache) now finds both in R2 without asking the upstream.
    const before = stub.requests.length;
    const fresh = testEnv({ ORIGINS: origins });
    expect((await call(fresh, `/${app.hashPart}.narinfo`)).headers.get("server-timing")).toContain(
      "r2:NAR_BUCKET found",
    );
    expect(await bytesOf(await call(fresh, `/${app.zstd.url}`))).toEqual(fixtureBytes(app.zstd.narPath));
    expect(stub.requests.length).toBe(before);
  });

  it("a corrupt NAR from further down is not backfilled (streaming path)", async () => {
    const app = fixturePath("feas-app");
    stubOrigins(() => {
      const bad = fixtureBytes(app.zstd.narPath).slice();
      bad[0] = bad[0]! ^ 1;
      return new Response(bad, { headers: { "content-length": String(bad.byteLength) } });
    });
    const env = testEnv({
      ORIGINS: [{ type: "r2", binding: "NAR_BUCKET", backfill: true }, upstream("up")],
      VERIFY_BEFORE_SEND_MAX_BYTES: "0",
    });
    const { callStreaming } = await import("./harness");
    const { body, settled } = await callStreaming(env, `/${app.zstd.url}`);
    await expect(body).rejects.toThrow();
    await settled();
    expect(await bucket().head(app.zstd.url)).toBeNull();
  });

  it("without backfill nothing is written", async () => {
    stubOrigins(fixtureUpstream());
    const app = fixturePath("feas-app");
    await call(
      testEnv({ ORIGINS: [{ type: "r2", binding: "NAR_BUCKET" }, upstream("up")] }),
      `/${app.hashPart}.narinfo`,
    );
    expect(await bucket().head(`${app.hashPart}.narinfo`)).toBeNull();
  });

  it("objects over the single-PUT limit go up in multipart parts", async () => {
    const { putStream } = await import("../../src/origins/backfill");
    const size = 16 * 1024 * 1024 * 2 + 12345;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let sent = 0; sent < size; sent += 1024 * 1024)
          c.enqueue(new Uint8Array(Math.min(1024 * 1024, size - sent)).fill(sent % 251));
        c.close();
      },
    });
    await putStream(bucket(), "nar/multipart-test.nar", body, undefined, { contentType: "application/x-nix-nar" });
    const stored = await bucket().head("nar/multipart-test.nar");
    expect(stored?.size).toBe(size);
  }, 60_000);
});

describe("origin bodies under the idle timeout (src/origins/timeouts.ts)", () => {
  const read = async (body: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(body).arrayBuffer());
  const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251);

  it("an announced length: the body whole, in pieces sized by what is left (small and multi-chunk)", async () => {
    const { withIdleTimeout } = await import("../../src/origins/timeouts");
    for (const n of [0, 1, 800, 64 * 1024, 300 * 1024 + 5]) {
      const sent = bytes(n);
      const body = withIdleTimeout(new Response(sent).body!, 5_000, () => undefined, "test", n);
      expect(await read(body)).toEqual(sent);
    }
  });

  it("the announced length only sizes reads: bytes past it (or short of it) pass as they come", async () => {
    const { withIdleTimeout } = await import("../../src/origins/timeouts");
    const sent = bytes(200 * 1024);
    for (const announced of [10, 150 * 1024, 400 * 1024]) {
      const body = withIdleTimeout(new Response(sent).body!, 5_000, () => undefined, "test", announced);
      expect(await read(body)).toEqual(sent);
    }
  });
});
