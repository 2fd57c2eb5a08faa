/** GET /health on the cache worker: for blackbox probes; touches no origin (docs/observability.md). */
import { describe, expect, it } from "vitest";
import { call, stubOrigins, testEnv } from "./harness";

describe("GET /health", () => {
  it("answers 200 without asking any origin, uncached, with each breaker's state", async () => {
    const upstream = stubOrigins(() => new Response("should not be asked", { status: 500 }));
    const env = testEnv({
      ORIGINS: [
        { type: "r2", binding: "NAR_BUCKET" },
        { type: "http", name: "upstream", url: "http://upstream.stub" },
      ],
    });
    const res = await call(env, "/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({
      status: "ok",
      origins: [
        { name: "r2:NAR_BUCKET", breaker: "closed" },
        { name: "upstream", breaker: "closed" },
      ],
    });
    expect(upstream.requests).toHaveLength(0);
    const head = await call(env, "/health", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("shows an origin's breaker open after it failed (stub upstream answers 500)", async () => {
    stubOrigins(() => new Response("down", { status: 500 }));
    const env = testEnv({
      ORIGINS: [{ type: "http", name: "upstream", url: "http://upstream.stub", breakerFailures: 2 }],
    });
    for (let i = 0; i < 2; i++) expect((await call(env, `/${"1".repeat(32)}.narinfo`)).status).toBe(502);
    expect(await (await call(env, "/health")).json()).toEqual({
      status: "ok",
      origins: [{ name: "upstream", breaker: "open" }],
    });
  });

  it("a broken configuration makes it fail (500), which is what a probe must see", async () => {
    const res = await call(testEnv({ TRUSTED_PUBLIC_KEYS: "" }), "/health");
    expect(res.status).toBe(500);
  });
});
