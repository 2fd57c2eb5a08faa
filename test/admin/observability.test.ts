/**
 * The admin worker's observability routes (docs/observability.md): whoami, the deep health check, the metrics
 * series for the page and the Prometheus window. The Analytics Engine SQL API and an origin that is down are
 * stubs on outbound fetch (`.stub` hosts); the cache worker's /health is the real handler in this isolate.
 */
import { afterEach, describe, expect, it } from "vitest";
import { COLUMNS } from "../../src/metrics/dataPoint";
import {
  bindings,
  callAdmin,
  callCache,
  CF_API_TOKEN,
  envs,
  fakeCloudflareApi,
  HOOK_SECRET,
  restoreFetch,
  seedR2,
  TOKENS,
} from "./harness";
import { stubOrigins, type StubHandler } from "../integration/harness";

afterEach(restoreFetch);

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const SQL_TOKEN = "analytics-token-for-tests-only";

interface SqlCall {
  path: string;
  authorization: string | null;
  sql: string;
}

/** A fake Analytics Engine SQL API: records each query and answers `rows` (or `status`). */
function fakeSqlApi(answer: { rows?: unknown[]; status?: number }, other?: StubHandler) {
  const calls: SqlCall[] = [];
  stubOrigins(async (request) => {
    const url = new URL(request.url);
    if (url.hostname !== "analytics.stub")
      return other ? other(request) : new Response("no such host", { status: 502 });
    calls.push({ path: url.pathname, authorization: request.headers.get("authorization"), sql: await request.text() });
    if (answer.status) return new Response("upstream says no: secret-looking detail", { status: answer.status });
    return Response.json({ meta: [], data: answer.rows ?? [], rows: answer.rows?.length ?? 0 });
  });
  return calls;
}

const analyticsVars = {
  ANALYTICS_ACCOUNT_ID: ACCOUNT,
  ANALYTICS_API_TOKEN: SQL_TOKEN,
  ANALYTICS_SQL_API: "https://analytics.stub/client/v4",
  ANALYTICS_DATASET: "nix_cache_edge_test",
};

describe("GET /v1/whoami", () => {
  it("names the token and its scopes, for any known token; 401 otherwise", async () => {
    const { admin } = await envs();
    expect((await callAdmin(admin, "GET", "/v1/whoami", { token: "all" })).json).toEqual({
      id: "all-admin",
      scopes: ["purge", "block", "delete", "read"],
    });
    expect((await callAdmin(admin, "GET", "/v1/whoami", { token: "read" })).json).toEqual({
      id: "read-admin",
      scopes: ["read"],
    });
    expect((await callAdmin(admin, "GET", "/v1/whoami", { token: "block" })).json).toEqual({
      id: "block-admin",
      scopes: ["block"],
    });
    expect((await callAdmin(admin, "GET", "/v1/whoami", { token: null })).status).toBe(401);
    expect((await callAdmin(admin, "GET", "/v1/whoami", { token: "not-a-token" })).status).toBe(401);
    expect((await callAdmin(admin, "POST", "/v1/whoami")).status).toBe(405);
  });
});

describe("GET /v1/health", () => {
  async function healthEnvs(origins: unknown[]) {
    const publicUrl = `https://cache-health-${crypto.randomUUID().slice(0, 8)}.stub`;
    const { admin, cache } = await envs({ PUBLIC_URL: publicUrl, ORIGINS: origins, ...analyticsVars });
    cache.PUBLIC_URL = publicUrl;
    cache.ORIGINS = origins;
    return { admin, cache, publicUrl };
  }

  it("origins reachable with latency, both views of the breakers, denylist freshness, secret-free config", async () => {
    await seedR2(bindings().NAR_BUCKET);
    const { admin, cache, publicUrl } = await healthEnvs([{ type: "r2", binding: "NAR_BUCKET" }]);
    fakeCloudflareApi([], (request) => {
      const url = new URL(request.url);
      return url.origin === publicUrl ? callCache(cache, url.pathname) : new Response("no such host", { status: 502 });
    });
    const block = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: ["0".repeat(31) + "f"], reason: "health test" },
    });
    expect(block.status).toBe(200);

    const res = await callAdmin(admin, "GET", "/v1/health", { token: "read" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json).toMatchObject({
      status: "ok",
      origins: [{ name: "r2:NAR_BUCKET", type: "r2", reachable: true, breaker: "closed" }],
      cache: {
        url: `${publicUrl}/health`,
        ok: true,
        status: 200,
        body: { status: "ok", origins: [{ name: "r2:NAR_BUCKET", breaker: "closed" }] },
      },
      denylist: { source: "kv-document", maxStalenessSeconds: 90, lastChange: { action: "block", by: "all-admin" } },
      config: {
        publicUrl,
        trustedKeys: ["cache-test-1"],
        origins: [{ name: "r2:NAR_BUCKET", type: "r2", backfill: false }],
        hookSecret: "set",
        analytics: { dataset: "nix_cache_edge_test" },
      },
    });
    // The block was published: KV's document is D1's newest version and holds the block's keys.
    expect(res.json.denylist.version).toBeGreaterThanOrEqual(1);
    expect(res.json.denylist.publishedVersion).toBe(res.json.denylist.version);
    expect(res.json.denylist.document).toEqual({ version: res.json.denylist.version, keys: expect.any(Number) });
    expect(res.json.denylist.document.keys).toBeGreaterThanOrEqual(1);
    expect(typeof res.json.origins[0].ms).toBe("number");
    for (const secret of [CF_API_TOKEN, HOOK_SECRET, SQL_TOKEN, ...Object.values(TOKENS)])
      expect(res.text).not.toContain(secret);
  });

  it("degraded when an origin is down (stub answers 503) and when the cache worker cannot be reached", async () => {
    const { admin } = await healthEnvs([
      { type: "r2", binding: "NAR_BUCKET" },
      { type: "http", name: "down", url: "http://down.stub" },
    ]);
    stubOrigins(() => new Response("down", { status: 503 }));
    const res = await callAdmin(admin, "GET", "/v1/health", { token: "read" });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe("degraded");
    expect(res.json.origins[1]).toMatchObject({ name: "down", reachable: false, answer: "failed" });
    expect(res.json.cache).toMatchObject({ ok: false, status: 503 });
  });

  it("needs the read scope", async () => {
    const { admin } = await envs();
    expect((await callAdmin(admin, "GET", "/v1/health", { token: "block" })).status).toBe(403);
    expect((await callAdmin(admin, "GET", "/v1/health", { token: null })).status).toBe(401);
  });
});

const ROWS = [
  { hour: "2026-11-30 10:00:00", cache_status: "HIT", origin: "edge", requests: 75, bytes: 7500 },
  { hour: "2026-11-30 10:00:00", cache_status: "MISS", origin: "r2:NAR_BUCKET", requests: 20, bytes: 2000 },
  { hour: "2026-11-30 10:00:00", cache_status: "MISS", origin: "s3-nix-cache", requests: "5", bytes: "500" },
  { hour: "2026-11-30 11:00:00", cache_status: "MISS", origin: "r2:NAR_BUCKET", requests: 10, bytes: 100 },
];

describe("GET /v1/metrics", () => {
  it("asks the SQL API for the dataset's last hours and answers hit ratio and origin share per hour", async () => {
    const { admin } = await envs(analyticsVars);
    const calls = fakeSqlApi({ rows: ROWS });
    const res = await callAdmin(admin, "GET", "/v1/metrics?hours=12", { token: "read" });
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.path).toBe(`/client/v4/accounts/${ACCOUNT}/analytics_engine/sql`);
    expect(calls[0]!.authorization).toBe(`Bearer ${SQL_TOKEN}`);
    expect(calls[0]!.sql).toContain("FROM nix_cache_edge_test");
    expect(calls[0]!.sql).toContain("INTERVAL '12' HOUR");
    expect(calls[0]!.sql).toContain(`${COLUMNS.route} IN ('narinfo', 'nar')`);
    expect(res.json).toEqual({
      configured: true,
      hours: 12,
      buckets: [
        {
          hour: "2026-11-30 10:00:00",
          requests: 100,
          hitRatio: 0.75,
          origins: [
            { origin: "edge", requests: 75, bytes: 7500, share: 0.75 },
            { origin: "r2:NAR_BUCKET", requests: 20, bytes: 2000, share: 0.2 },
            { origin: "s3-nix-cache", requests: 5, bytes: 500, share: 0.05 },
          ],
        },
        {
          hour: "2026-11-30 11:00:00",
          requests: 10,
          hitRatio: 0,
          origins: [{ origin: "r2:NAR_BUCKET", requests: 10, bytes: 100, share: 1 }],
        },
      ],
    });
  });

  it("not configured: says so; SQL API failing: 502 without its detail; bad hours: 400", async () => {
    const { admin: bare } = await envs();
    expect((await callAdmin(bare, "GET", "/v1/metrics", { token: "read" })).json).toEqual({
      configured: false,
      hours: 6,
      buckets: [],
    });
    const { admin } = await envs(analyticsVars);
    fakeSqlApi({ status: 500 });
    const failed = await callAdmin(admin, "GET", "/v1/metrics", { token: "read" });
    expect(failed.status).toBe(502);
    expect(failed.text).not.toContain("secret-looking");
    expect(failed.text).not.toContain(SQL_TOKEN);
    expect((await callAdmin(admin, "GET", "/v1/metrics?hours=0", { token: "read" })).status).toBe(400);
    expect((await callAdmin(admin, "GET", "/v1/metrics?hours=1000", { token: "read" })).status).toBe(400);
    expect((await callAdmin(admin, "GET", "/v1/metrics", { token: "purge" })).status).toBe(403);
  });

  it("a half-set configuration is refused as misconfigured, naming the var", async () => {
    const { admin } = await envs({ ANALYTICS_ACCOUNT_ID: ACCOUNT });
    const res = await callAdmin(admin, "GET", "/v1/metrics", { token: "read" });
    expect(res.status).toBe(500);
    expect(res.json.error.kind).toBe("misconfigured");
  });
});

describe("GET /v1/metrics/prometheus", () => {
  const recent = [
    {
      route: "nar",
      cache_status: "HIT",
      origin: "edge",
      status_class: 2,
      verification: "ok",
      rejected_by: "",
      requests: 90,
      bytes: 9000,
    },
    {
      route: "narinfo",
      cache_status: "MISS",
      origin: "none",
      status_class: 5,
      verification: "none",
      rejected_by: "",
      requests: 4,
      bytes: 40,
    },
    {
      route: "narinfo",
      cache_status: "MISS",
      origin: "none",
      status_class: 4,
      verification: "forged",
      rejected_by: "s3-nix-cache",
      requests: 2,
      bytes: 20,
    },
    {
      route: "nar",
      cache_status: "MISS",
      origin: "r2:NAR_BUCKET",
      status_class: 2,
      verification: "corrupt-nar",
      rejected_by: "r2:NAR_BUCKET",
      requests: 1,
      bytes: 10,
    },
  ];

  it("gauges over the last five minutes, for the alert rules in infra/monitoring/", async () => {
    const { admin } = await envs(analyticsVars);
    const calls = fakeSqlApi({ rows: recent });
    const res = await callAdmin(admin, "GET", "/v1/metrics/prometheus", { token: "read" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(calls[0]!.sql).toContain("INTERVAL '5' MINUTE");
    const lines = res.text.split("\n");
    expect(lines).toContain("nix_cache_edge_metrics_up 1");
    expect(lines).toContain("nix_cache_edge_window_seconds 300");
    expect(lines).toContain(
      'nix_cache_edge_requests{route="nar",cache_status="HIT",origin="edge",status_class="2xx"} 90',
    );
    expect(lines).toContain(
      'nix_cache_edge_requests{route="narinfo",cache_status="MISS",origin="none",status_class="5xx"} 4',
    );
    expect(lines).toContain('nix_cache_edge_bytes{origin="edge"} 9000');
    expect(lines).toContain('nix_cache_edge_verification_failures{verification="forged",origin="s3-nix-cache"} 2');
    expect(lines).toContain(
      'nix_cache_edge_verification_failures{verification="corrupt-nar",origin="r2:NAR_BUCKET"} 1',
    );
    expect(lines.filter((l) => l.startsWith("nix_cache_edge_verification_failures{"))).toHaveLength(2);
  });

  it("metrics_up 0 when the SQL API fails; 401 and 403 like every read route", async () => {
    const { admin } = await envs(analyticsVars);
    fakeSqlApi({ status: 503 });
    const res = await callAdmin(admin, "GET", "/v1/metrics/prometheus", { token: "read" });
    expect(res.status).toBe(200);
    expect(res.text.split("\n")).toContain("nix_cache_edge_metrics_up 0");
    expect(res.text).not.toContain("nix_cache_edge_requests{");
    expect((await callAdmin(admin, "GET", "/v1/metrics/prometheus", { token: null })).status).toBe(401);
    expect((await callAdmin(admin, "GET", "/v1/metrics/prometheus", { token: "delete" })).status).toBe(403);
  });
});

describe("the admin page's files", () => {
  it("document, script and stylesheet under a CSP that forbids inline script and style and other hosts", async () => {
    const { admin } = await envs();
    const page = await callAdmin(admin, "GET", "/", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/\sstyle=|\son[a-z]+=|<style/);
    const js = await callAdmin(admin, "GET", "/page/app.js", { token: null });
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.text).toContain("/v1/whoami");
    expect(js.text).not.toMatch(/\beval\(|new Function|innerHTML/);
    const css = await callAdmin(admin, "GET", "/page/app.css", { token: null });
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await callAdmin(admin, "GET", "/page/other.js", { token: null })).status).toBe(404);
  });
});
