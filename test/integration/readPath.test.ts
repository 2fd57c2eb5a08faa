/**
 * The read path under slow clients and bad origins (docs/request-flow.md, "The body of a miss"): bounded memory,
 * corrupt bytes never reach a client when another origin has good ones, Range answered exactly, every origin read
 * under a timeout. Upstreams that stall, truncate, lie or ignore Range are stubs, and each test says so.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { CircuitBreaker } from "../../src/origins/breaker";
import { WINDOW_BYTES } from "../../src/streams/fanOut";
import { chunksOf, withIdleTimeout } from "../../src/origins/timeouts";
import { nix32Encode } from "../../src/narinfo/nix32";
import { cacheKeyUrl } from "../../src/routing/cacheKey";
import { lookupNarinfo } from "../../src/admin/servedObjects";
import { configFor } from "../../src/config";
import {
  bucket,
  bytesOf,
  call,
  callStreaming,
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

const hostOf = (request: Request) => new URL(request.url).host;

beforeEach(() => emptyBucket(bucket()));
afterEach(() => vi.restoreAllMocks());

function corrupted(bytes: Uint8Array): Uint8Array {
  const bad = bytes.slice();
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
  return bad;
}

/** A body of `size` bytes made on demand, 64 KiB per pull, counting what the worker pulled from it. */
function countingBody(size: number, pulled: { bytes: number }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const n = Math.min(64 * 1024, size - pulled.bytes);
        if (n <= 0) return controller.close();
        controller.enqueue(new Uint8Array(n).fill(pulled.bytes % 251));
        pulled.bytes += n;
      },
    },
    { highWaterMark: 0 },
  );
}

/** A body that sends `first` and then nothing, ever (a stalled connection). */
function stallingBody(first: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(first);
    },
  });
}

/** A body that sends `first` and then breaks (a reset connection). */
function brokenBody(first: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async start(c) {
      c.enqueue(first);
      await scheduler.wait(5);
      c.error(new Error("connection reset"));
    },
  });
}

const LOG = `log/${"a".repeat(32)}-big.drv`;

// Each describe has a generous per-test timeout: these tests wait on idle timeouts, on a machine that may be busy.
describe("§1 memory does not follow the slowest reader", { timeout: 30_000 }, () => {
  for (const withBackfill of [false, true]) {
    const mode = withBackfill ? ", with backfill" : "";
    it(`a client reading 4 KiB of a 64 MiB miss keeps the origin one window ahead (stub origin${mode})`, async () => {
      const size = 64 * 1024 * 1024;
      const pulled = { bytes: 0 };
      stubOrigins(() => new Response(countingBody(size, pulled), { headers: { "content-length": String(size) } }));
      // `trusted`: a log cannot be checked, so only a trusted origin's copy goes into R2 (issue 10 §7).
      const origins = withBackfill ? [r2({ backfill: true }), upstream("big", { trusted: true })] : [upstream("big")];
      const { createExecutionContext } = await import("cloudflare:test");
      const worker = (await import("../../src/index")).default;
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`https://cache.test/${LOG}`) as never,
        testEnv({ ORIGINS: origins }),
        ctx,
      );
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let got = 0;
      while (got < 4096) got += (await reader.read()).value!.byteLength;
      // The edge-cache write and the backfill read as fast as they can; the pump must still wait for the client.
      await scheduler.wait(500);
      const ahead = pulled.bytes;
      await scheduler.wait(300);
      expect(pulled.bytes).toBe(ahead);
      expect(ahead).toBeLessThanOrEqual(WINDOW_BYTES + 2 * 1024 * 1024);
      expect(ahead).toBeLessThan(size / 4);
      await reader.cancel();
    });
  }

  it("a client that goes away mid-transfer: the copies finish, and what is kept is whole (stub origin)", async () => {
    const size = 3 * 1024 * 1024;
    const pulled = { bytes: 0 };
    stubOrigins(() => new Response(countingBody(size, pulled), { headers: { "content-length": String(size) } }));
    const env = testEnv({ ORIGINS: [r2({ backfill: true }), upstream("big", { trusted: true })] });
    const { response, settled } = await callStreamingUnread(env, `/${LOG}`);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await settled();
    expect(pulled.bytes).toBe(size);
    expect((await bucket().head(LOG))?.size).toBe(size);
    const hit = await call(env, `/${LOG}`);
    expect(hit.headers.get("x-cache-status")).toBe("HIT");
    expect((await bytesOf(hit)).byteLength).toBe(size);
  });

  it("a small object without Content-Length is backfilled with one plain PUT (stub origin, no multipart)", async () => {
    stubOrigins(() => new Response(new TextEncoder().encode("a small log\n")));
    const multipart = vi.spyOn(bucket(), "createMultipartUpload");
    const env = testEnv({ ORIGINS: [r2({ backfill: true }), upstream("up", { trusted: true })] });
    const res = await call(env, `/${LOG}`);
    expect(await res.text()).toBe("a small log\n");
    expect(await (await bucket().get(LOG))?.text()).toBe("a small log\n");
    expect(multipart).not.toHaveBeenCalled();
  });
});

/** Like callStreaming, but leaves the body to the test. */
async function callStreamingUnread(env: Env, path: string) {
  const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
  const worker = (await import("../../src/index")).default;
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`https://cache.test${path}`) as never, env, ctx);
  return { response, settled: () => waitOnExecutionContext(ctx) };
}

describe("§2 a corrupt NAR is invisible when another origin has a good one", { timeout: 30_000 }, () => {
  it("a small corrupt NAR in origin 1: the first request gets origin 2's good copy (verify before send)", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    await bucket().put(app.xz.url, corrupted(good));
    stubOrigins(fixtureUpstream("xz"));
    const errors = vi.spyOn(console, "error");
    const env = testEnv({ ORIGINS: [r2(), upstream("good")] });
    const res = await call(env, `/${app.xz.url}`);
    expect(res.status).toBe(200);
    expect(await bytesOf(res)).toEqual(good);
    expect(res.headers.get("server-timing")).toMatch(/r2:NAR_BUCKET failed.*good\.stub found/);
    expect(errors.mock.calls.flat().join("\n")).toContain('"event":"integrity-failed"');
    // What was kept is the good copy.
    const hit = await call(env, `/${app.xz.url}`);
    expect(hit.headers.get("x-cache-status")).toBe("HIT");
    expect(await bytesOf(hit)).toEqual(good);
  });

  it("a small corrupt NAR counts against the origin's breaker", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(app.xz.url, corrupted(fixtureBytes(app.xz.narPath)));
    stubOrigins(fixtureUpstream("xz"));
    const env = testEnv({ ORIGINS: [r2({ breakerFailures: 1 }), upstream("good")] });
    await call(env, `/${app.xz.url}`);
    const other = fixturePath("feas-dep");
    const res = await call(env, `/${other.hashPart}.narinfo`);
    expect(res.headers.get("server-timing")).toContain("r2:NAR_BUCKET skipped");
  });

  it("a small corrupt NAR and no good copy anywhere: 502, not cached", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(app.xz.url, corrupted(fixtureBytes(app.xz.narPath)));
    const env = testEnv();
    const res = await call(env, `/${app.xz.url}`);
    expect(res.status).toBe(502);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("over the threshold: transfer cut, the immediate retry served by the next origin, edge copy gone", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    await bucket().put(app.xz.url, corrupted(good));
    const stub = stubOrigins(fixtureUpstream("xz"));
    const env = testEnv({ ORIGINS: [r2(), upstream("good")], VERIFY_BEFORE_SEND_MAX_BYTES: "0" });
    const { response, body, settled } = await callStreaming(env, `/${app.xz.url}`);
    expect(response.status).toBe(200);
    await expect(body).rejects.toThrow();
    expect(stub.requests).toHaveLength(0);
    // The retry comes the moment the client's stream failed, before the background work is awaited: whatever the
    // Cache API holds by then, the marker written before the failure keeps it from being answered.
    const retry = await call(env, `/${app.xz.url}`);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("x-cache-status")).toBe("MISS");
    expect(await bytesOf(retry)).toEqual(good);
    // The corrupt origin was asked last, i.e. not at all: the next origin had the file.
    expect(retry.headers.get("server-timing")).not.toContain("r2:NAR_BUCKET");
    await settled();
    // Once the background work is done, the broken copy's entry is gone (the retry's good copy may replace it).
    const held = await caches.default.match(cacheKeyUrl(env.PUBLIC_URL!, app.xz.url));
    if (held) expect(await bytesOf(held)).toEqual(good);
  });

  it("over the threshold: a retry in another isolate also asks the corrupt origin last (Cache API mark)", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    await bucket().put(app.xz.url, corrupted(good));
    stubOrigins(fixtureUpstream("xz"));
    const vars = { ORIGINS: [r2(), upstream("good")], VERIFY_BEFORE_SEND_MAX_BYTES: "0" };
    const env = testEnv(vars);
    const first = await callStreaming(env, `/${app.xz.url}`);
    await expect(first.body).rejects.toThrow();
    await first.settled();
    // Another isolate: its own parsed config (breakers, memo), the same data centre's Cache API.
    const elsewhere = { ...env };
    expect(configFor(elsewhere)).not.toBe(configFor(env));
    const retry = await call(elsewhere, `/${app.xz.url}`);
    expect(retry.headers.get("x-cache-status")).toBe("MISS");
    expect(await bytesOf(retry)).toEqual(good);
    expect(retry.headers.get("server-timing")).not.toContain("r2:NAR_BUCKET");
  });

  it("a cut transfer whose edge write never settles (stubbed put) is marked: a late copy is never served", async () => {
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    let calls = 0;
    stubOrigins((request) => {
      // First GET: the body breaks half-way (a cut connection); afterwards a plain server ignoring Range.
      if (calls++ === 0)
        return new Response(brokenBody(whole.slice(0, 50)), {
          headers: { "content-length": String(whole.byteLength) },
        });
      return fixtureUpstream("xz")(request);
    });
    const env = testEnv({ ORIGINS: [upstream("plain")], VERIFY_BEFORE_SEND_MAX_BYTES: "0" });
    // The local Cache API's put of a body that failed can stay pending, and store the copy later anyway: the put is
    // stubbed to read its body and never settle; the copy it "stores late" is written below with its headers.
    const cache = caches.default;
    const realPut = cache.put.bind(cache);
    let lateCopy: Headers | undefined;
    vi.spyOn(cache, "put").mockImplementation(async (request, response) => {
      if (new URL(request instanceof Request ? request.url : String(request)).search !== "")
        return realPut(request, response);
      lateCopy = new Headers(response.headers);
      await response.body?.pipeTo(new WritableStream()).catch(() => undefined);
      return new Promise<void>(() => undefined);
    });
    const first = await callStreaming(env, `/${app.xz.url}`);
    await expect(first.body).rejects.toThrow();
    vi.mocked(cache.put).mockRestore();
    expect(lateCopy).toBeDefined();
    // The copy the Cache API kept: the right length, the wrong bytes (what a cut write leaves is not the file).
    await realPut(
      cacheKeyUrl(env.PUBLIC_URL!, app.xz.url),
      new Response(new Uint8Array(whole.byteLength), { headers: lateCopy }),
    );
    const from = whole.byteLength - 100;
    const tail = await call(env, `/${app.xz.url}`, { headers: { range: `bytes=${from}-` } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get("x-cache-status")).not.toBe("HIT");
    expect(await bytesOf(tail)).toEqual(whole.slice(from));
  });

  it("a corrupt origin asked last is still asked when no other origin has the file; serves once fixed", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    await bucket().put(app.xz.url, corrupted(good));
    stubOrigins(() => new Response("", { status: 404 }));
    const env = testEnv({ ORIGINS: [r2(), upstream("empty")] });
    expect((await call(env, `/${app.xz.url}`)).status).toBe(502);
    await bucket().put(app.xz.url, good);
    const fixed = await call(env, `/${app.xz.url}`);
    expect(await bytesOf(fixed)).toEqual(good);
    expect(fixed.headers.get("server-timing")).toMatch(/empty\.stub absent.*r2:NAR_BUCKET found/);
  });
});

describe("§3 Range on a miss is answered exactly", { timeout: 30_000 }, () => {
  it("an origin that ignores Range (stub answers 200 with the whole file): 206 with the asked bytes", async () => {
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    for (const threshold of ["0", "8388608"]) {
      const stub = stubOrigins(fixtureUpstream("xz"));
      const res = await call(
        testEnv({ ORIGINS: [upstream("plain")], VERIFY_BEFORE_SEND_MAX_BYTES: threshold }),
        `/${app.xz.url}`,
        {
          headers: { range: "bytes=100-" },
        },
      );
      expect(stub.requests[0]!.headers.get("range"), threshold).toBe("bytes=100-");
      expect(res.status, threshold).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes 100-${whole.byteLength - 1}/${whole.byteLength}`);
      expect(res.headers.get("content-length")).toBe(String(whole.byteLength - 100));
      expect(await bytesOf(res)).toEqual(whole.slice(100));
    }
  });

  it("a bounded and a suffix range from an origin that ignores Range (stub), through the pump's cut", async () => {
    stubOrigins(fixtureUpstream("xz"));
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    const env = testEnv({ ORIGINS: [upstream("plain")], VERIFY_BEFORE_SEND_MAX_BYTES: "0" });
    const bounded = await call(env, `/${app.xz.url}`, { headers: { range: "bytes=10-19" } });
    expect(bounded.status).toBe(206);
    expect(await bytesOf(bounded)).toEqual(whole.slice(10, 20));
    const suffix = await call(env, `/${app.xz.url}`, { headers: { range: "bytes=-7" } });
    expect(suffix.status).toBe(206);
    expect(await bytesOf(suffix)).toEqual(whole.slice(-7));
  });

  it("a range past the end, from an origin that ignores Range (stub): 416 with the size", async () => {
    stubOrigins(fixtureUpstream("xz"));
    const app = fixturePath("feas-app");
    const size = fixtureBytes(app.xz.narPath).byteLength;
    const res = await call(testEnv({ ORIGINS: [upstream("plain")] }), `/${app.xz.url}`, {
      headers: { range: `bytes=${size}-` },
    });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe(`bytes */${size}`);
  });

  it("bytes=0- of a corrupt NAR is checked like a GET: the next origin's good copy is served as 206", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    await bucket().put(app.xz.url, corrupted(good));
    stubOrigins(fixtureUpstream("xz"));
    const res = await call(testEnv({ ORIGINS: [r2(), upstream("good")] }), `/${app.xz.url}`, {
      headers: { range: "bytes=0-" },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 0-${good.byteLength - 1}/${good.byteLength}`);
    expect(await bytesOf(res)).toEqual(good);
  });

  it("bytes=0- of a corrupt NAR above the threshold is cut, not served whole", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(app.xz.url, corrupted(fixtureBytes(app.xz.narPath)));
    const { body } = await callStreaming(testEnv({ VERIFY_BEFORE_SEND_MAX_BYTES: "0" }), `/${app.xz.url}`, {
      headers: { range: "bytes=0-" },
    });
    await expect(body).rejects.toThrow();
  });

  it("an origin answering 206 to a request without Range (stub) is a failed origin; the next one serves", async () => {
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    stubOrigins((req) =>
      hostOf(req) === "liar.stub"
        ? new Response(whole.slice(0, 10), {
            status: 206,
            headers: { "content-range": `bytes 0-9/${whole.byteLength}` },
          })
        : fixtureUpstream("xz")(req),
    );
    const res = await call(testEnv({ ORIGINS: [upstream("liar"), upstream("good")] }), `/${app.xz.url}`);
    expect(res.status).toBe(200);
    expect(await bytesOf(res)).toEqual(whole);
    expect(res.headers.get("server-timing")).toContain("liar.stub failed");
  });

  it("an origin answering 206 with another range than asked (stub) is a failed origin", async () => {
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    stubOrigins(
      () =>
        new Response(whole.slice(0, 10), {
          status: 206,
          headers: { "content-range": `bytes 0-9/${whole.byteLength}` },
        }),
    );
    const res = await call(testEnv({ ORIGINS: [upstream("liar")] }), `/${app.xz.url}`, {
      headers: { range: "bytes=50-59" },
    });
    expect(res.status).toBe(502);
  });
});

describe("§4 stalls and broken bodies", { timeout: 30_000 }, () => {
  it("a narinfo body that breaks after the headers (stub): next origin asked, the broken one failed", async () => {
    const dep = fixturePath("feas-dep");
    const text = new TextEncoder().encode(fixtureText(dep.xz.narinfoPath));
    stubOrigins((req) =>
      hostOf(req) === "broken.stub" ? new Response(brokenBody(text.slice(0, 20))) : fixtureUpstream("xz")(req),
    );
    const env = testEnv({ ORIGINS: [upstream("broken", { breakerFailures: 1 }), upstream("good")] });
    const res = await call(env, `/${dep.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(fixtureText(dep.xz.narinfoPath));
    expect(res.headers.get("server-timing")).toContain("broken.stub failed");
    // Counted: with breakerFailures = 1 the next request skips it.
    const app = fixturePath("feas-app");
    expect((await call(env, `/${app.hashPart}.narinfo`)).headers.get("server-timing")).toContain("broken.stub skipped");
  });

  it("a narinfo body that stalls (stub) is bounded by betweenBytesTimeout, and the next origin answers", async () => {
    const dep = fixturePath("feas-dep");
    stubOrigins((req) =>
      hostOf(req) === "stall.stub" ? new Response(stallingBody(new Uint8Array([83]))) : fixtureUpstream("xz")(req),
    );
    const res = await call(
      testEnv({ ORIGINS: [upstream("stall", { betweenBytesTimeout: 1 }), upstream("good")] }),
      `/${dep.hashPart}.narinfo`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toContain("stall.stub failed");
  });

  it("a small NAR whose body stalls (stub) is bounded by betweenBytesTimeout before anything is sent", async () => {
    // Verify-before-send reads the body whole (src/streams/readBounded.ts, straight from the origin's body): the
    // idle timeout must hold there too, and the next origin's good copy is the answer.
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    stubOrigins((req) =>
      hostOf(req) === "stall.stub"
        ? new Response(stallingBody(good.slice(0, 64)), { headers: { "content-length": String(good.byteLength) } })
        : fixtureUpstream("xz")(req),
    );
    const res = await call(
      testEnv({ ORIGINS: [upstream("stall", { betweenBytesTimeout: 1 }), upstream("good")] }),
      `/${app.xz.url}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toContain("stall.stub failed");
    expect(await bytesOf(res)).toEqual(good);
  });

  it("504 only when every origin timed out; a stall and a 404 make a 502 (stubs)", async () => {
    const hash = "7".repeat(32);
    stubOrigins((req) =>
      hostOf(req) === "empty.stub"
        ? new Response("", { status: 404 })
        : new Response(stallingBody(new Uint8Array([83]))),
    );
    const stalls = await call(
      testEnv({ ORIGINS: [upstream("s1", { betweenBytesTimeout: 1 }), upstream("s2", { betweenBytesTimeout: 1 })] }),
      `/${hash}.narinfo`,
    );
    expect(stalls.status).toBe(504);
    const mixed = await call(
      testEnv({ ORIGINS: [upstream("s1", { betweenBytesTimeout: 1 }), upstream("empty")] }),
      `/${hash}.narinfo`,
    );
    expect(mixed.status).toBe(502);
  });

  it("the admin worker's narinfo lookup falls through a stalled body the same way (stub)", async () => {
    const dep = fixturePath("feas-dep");
    stubOrigins((req) =>
      hostOf(req) === "stall.stub" ? new Response(stallingBody(new Uint8Array([83]))) : fixtureUpstream("xz")(req),
    );
    const config = configFor(testEnv({ ORIGINS: [upstream("stall", { betweenBytesTimeout: 1 }), upstream("good")] }));
    const lookup = await lookupNarinfo(config.chain, dep.hashPart, "/nix/store");
    expect(lookup).toMatchObject({ kind: "found", origin: "http://good.stub" });
  });

  it("the trickled error body of a 500 (stub) is not waited for: the next origin answers in time", async () => {
    const dep = fixturePath("feas-dep");
    stubOrigins((req) =>
      hostOf(req) === "trickle.stub"
        ? new Response(stallingBody(new Uint8Array([60])), { status: 500 })
        : fixtureUpstream("xz")(req),
    );
    const res = await call(
      testEnv({ ORIGINS: [upstream("trickle", { betweenBytesTimeout: 1, firstByteTimeout: 1 }), upstream("good")] }),
      `/${dep.hashPart}.narinfo`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toContain("trickle.stub failed");
  });

  it("an S3 error body that trickles (stub) is read for one idle timeout at most; the origin failed", async () => {
    const dep = fixturePath("feas-dep");
    stubOrigins((req) =>
      hostOf(req) === "s3.stub"
        ? new Response(stallingBody(new TextEncoder().encode("<Error><Co")), { status: 403 })
        : fixtureUpstream("xz")(req),
    );
    const s3 = { type: "s3", endpoint: "http://s3.stub", bucket: "b", credentials: "S3", betweenBytesTimeout: 1 };
    const res = await call(
      testEnv({
        ORIGINS: [s3, upstream("good")],
        S3_ACCESS_KEY_ID: "AKIDTEST",
        S3_SECRET_ACCESS_KEY: "test-secret-not-real",
      }),
      `/${dep.hashPart}.narinfo`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toContain("s3:b failed");
  });

  it("a NAR body that breaks half-way above the threshold (stub) is cut and counted against the breaker", async () => {
    const app = fixturePath("feas-app");
    const whole = fixtureBytes(app.xz.narPath);
    stubOrigins(
      () => new Response(brokenBody(whole.slice(0, 50)), { headers: { "content-length": String(whole.byteLength) } }),
    );
    const env = testEnv({ ORIGINS: [upstream("broken", { breakerFailures: 1 })], VERIFY_BEFORE_SEND_MAX_BYTES: "0" });
    const { body, settled } = await callStreaming(env, `/${app.xz.url}`);
    await expect(body).rejects.toThrow();
    await settled();
    expect((await call(env, `/${app.xz.url}`)).headers.get("server-timing")).toContain("broken.stub skipped");
  });

  it("a half-open breaker whose probe never settles lets another probe through after a cooldown", () => {
    const breaker = new CircuitBreaker({ failures: 1, cooldownMs: 1000 });
    breaker.failure(0);
    expect(breaker.allow(500)).toBe(false);
    expect(breaker.allow(1000)).toBe(true); // the probe, whose request then dies without a verdict
    expect(breaker.allow(1500)).toBe(false);
    expect(breaker.allow(2000)).toBe(true); // given up on; a new probe
    breaker.success();
    expect(breaker.allow(2001)).toBe(true);
    expect(breaker.allow(2002)).toBe(true);
  });
});

/**
 * A byte stream (as fetch and R2 bodies are) serving `bytes` in pieces of at most `piece`; `seen.byob` records
 * that the worker read it with its own buffers (BYOB), the path on which chunk buffers are reused.
 */
function byteBody(bytes: Uint8Array, seen: { byob: boolean }, piece = 100_000): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest;
      if (offset >= bytes.byteLength) {
        controller.close();
        request?.respond(0);
        return;
      }
      if (request?.view) {
        seen.byob = true;
        const view = request.view;
        const n = Math.min(view.byteLength, piece, bytes.byteLength - offset);
        new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(offset, offset + n));
        offset += n;
        request.respond(n);
        return;
      }
      const n = Math.min(piece, bytes.byteLength - offset);
      controller.enqueue(bytes.slice(offset, offset + n));
      offset += n;
    },
  });
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)));
  return bytes;
}

// What the runtime does with a written chunk (it copies it at write()) is proven in pipeWrites.test.ts; these prove
// the pump's own bookkeeping: which buffers come back, and that reuse never reaches the bytes of any branch.
describe(
  "§5 chunk buffers come back to the origin reader without changing any branch's bytes",
  { timeout: 60_000 },
  () => {
    it("a chunk handed back is the next read's memory; one not handed back is intact (byte stream)", async () => {
      const bytes = randomBytes(512 * 1024);
      const seen = { byob: false };
      const source = chunksOf(withIdleTimeout(byteBody(bytes, seen), 5_000, () => undefined));
      const first = (await source.read())!;
      const kept = first.slice();
      const second = (await source.read())!;
      // Not handed back: the second read had a fresh buffer, the first chunk is as it was.
      expect(first).toEqual(kept);
      expect(second).toEqual(bytes.subarray(first.byteLength, first.byteLength + second.byteLength));
      source.recycle(first);
      const third = (await source.read())!;
      // Handed back: its buffer went into the third read (transferred, so this view is now empty).
      expect(first.byteLength).toBe(0);
      const at = kept.byteLength + second.byteLength;
      expect(third).toEqual(bytes.subarray(at, at + third.byteLength));
      expect(seen.byob).toBe(true);
      await source.cancel();
    });

    it("slow client, edge copy and R2 backfill of a 24 MiB NAR: every byte right (byte stream)", async () => {
      const size = 24 * 1024 * 1024;
      const bytes = randomBytes(size);
      const url = `nar/${nix32Encode(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))}.nar`;
      const seen = { byob: false };
      stubOrigins(() => new Response(byteBody(bytes, seen), { headers: { "content-length": String(size) } }));
      const env = testEnv({
        ORIGINS: [r2({ backfill: true }), upstream("bytes")],
        VERIFY_BEFORE_SEND_MAX_BYTES: "0",
      });
      const { response, settled } = await callStreamingUnread(env, `/${url}`);
      expect(response.status).toBe(200);
      // The client reads in small steps with pauses, so the copies run ahead and the pump's window fills: chunks
      // are written to the client long after the copies took them, while later reads reuse buffers.
      const reader = response.body!.getReader({ mode: "byob" });
      const got = new Uint8Array(size);
      let offset = 0;
      for (let step = 0; offset < size; step++) {
        const { done, value } = await reader.read(new Uint8Array(Math.min(256 * 1024, size - offset)));
        if (done) break;
        got.set(value, offset);
        offset += value.byteLength;
        if (step % 16 === 0) await scheduler.wait(5);
      }
      await settled();
      expect(seen.byob).toBe(true);
      expect(offset).toBe(size);
      expect(equal(got, bytes)).toBe(true);
      const copy = await bucket().get(url);
      expect(equal(new Uint8Array(await copy!.arrayBuffer()), bytes)).toBe(true);
      const hit = await call(env, `/${url}`);
      expect(hit.headers.get("x-cache-status")).toBe("HIT");
      expect(equal(await bytesOf(hit), bytes)).toBe(true);
    });
  },
);

/** Byte equality without a per-byte diff in the failure message (the buffers are megabytes). */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
