/**
 * The data point each request writes to Analytics Engine (src/metrics/, docs/observability.md). The dataset is a
 * recording stand-in for the METRICS binding; everything else (R2, Cache API, WebCrypto) is workerd's.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { COLUMNS, type RequestDataPoint } from "../../src/metrics/dataPoint";
import type { Env } from "../../src/env";
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
  seedR2,
  stubOrigins,
  testEnv,
} from "./harness";

beforeEach(() => emptyBucket(bucket()));

type Field = keyof RequestDataPoint;

/** Records points and reads them back by field name through the one column layout (COLUMNS). */
function recordingDataset() {
  const raw: AnalyticsEngineDataPoint[] = [];
  const dataset: AnalyticsEngineDataset = { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void raw.push(p!) };
  const points = () =>
    raw.map((p) => {
      const out: Record<string, unknown> = { index: p.indexes?.[0] };
      for (const [field, column] of Object.entries(COLUMNS) as [Field, string][]) {
        const n = Number(column.replace(/^\D+/, "")) - 1;
        out[field] = column.startsWith("blob") ? p.blobs?.[n] : p.doubles?.[n];
      }
      return out as Partial<RequestDataPoint> & { index: unknown };
    });
  return { dataset, points };
}

function envWith(dataset: AnalyticsEngineDataset, overrides: Partial<Env> = {}): Env {
  return testEnv({ METRICS: dataset, METRICS_SAMPLE_RATE: "1", ...overrides });
}

describe("one data point per request", () => {
  it("a narinfo miss: route, MISS, the answering origin by name and index, ok, bytes sent", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const { dataset, points } = recordingDataset();
    const res = await call(envWith(dataset), `/${app.hashPart}.narinfo`);
    const body = await bytesOf(res);
    expect(res.status).toBe(200);
    expect(points()).toEqual([
      expect.objectContaining({
        index: "narinfo",
        route: "narinfo",
        cacheStatus: "MISS",
        status: 200,
        origin: "r2:NAR_BUCKET",
        originIndex: 0,
        verification: "ok",
        rejectedBy: "",
        method: "GET",
        transfer: "complete",
        bytes: body.byteLength,
        weight: 1,
      }),
    ]);
    const [p] = points();
    expect(p!.ttfbMs).toBeGreaterThanOrEqual(0);
    expect(p!.totalMs).toBeGreaterThanOrEqual(p!.ttfbMs!);
    expect(typeof p!.colo).toBe("string");
  });

  it("a NAR miss then a hit: origin r2 then edge, both checked against the sha256 in the URL", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const nar = fixtureBytes(app.xz.narPath);
    const { dataset, points } = recordingDataset();
    const env = envWith(dataset);
    const miss = await call(env, `/${app.xz.url}`);
    expect(miss.headers.get("x-cache-status")).toBe("MISS");
    const hit = await call(env, `/${app.xz.url}`);
    expect(hit.headers.get("x-cache-status")).toBe("HIT");
    expect(await bytesOf(hit)).toEqual(nar);
    expect(points()).toEqual([
      expect.objectContaining({
        route: "nar",
        cacheStatus: "MISS",
        origin: "r2:NAR_BUCKET",
        originIndex: 0,
        verification: "ok",
        transfer: "complete",
        bytes: nar.byteLength,
      }),
      expect.objectContaining({
        route: "nar",
        cacheStatus: "HIT",
        origin: "edge",
        originIndex: -1,
        verification: "ok",
        transfer: "complete",
        bytes: nar.byteLength,
      }),
    ]);
  });

  it("a narinfo hit: HIT from the edge, nothing checked in this request", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const { dataset, points } = recordingDataset();
    const env = envWith(dataset);
    await call(env, `/${app.hashPart}.narinfo`);
    const hit = await call(env, `/${app.hashPart}.narinfo`);
    expect(hit.headers.get("x-cache-status")).toBe("HIT");
    expect(points()[1]).toEqual(
      expect.objectContaining({
        route: "narinfo",
        cacheStatus: "HIT",
        origin: "edge",
        verification: "none",
        status: 200,
        bytes: fixtureText(app.xz.narinfoPath).length,
      }),
    );
  });

  it("a forged narinfo: 404, verification forged, the origin that held it named", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(
      `${app.hashPart}.narinfo`,
      fixtureText(app.xz.narinfoPath).replace(/NarSize: \d+/, "NarSize: 4242"),
    );
    const { dataset, points } = recordingDataset();
    const res = await call(envWith(dataset), `/${app.hashPart}.narinfo`);
    expect(res.status).toBe(404);
    expect(points()).toEqual([
      expect.objectContaining({
        route: "narinfo",
        cacheStatus: "MISS",
        status: 404,
        origin: "none",
        originIndex: -1,
        verification: "forged",
        rejectedBy: "r2:NAR_BUCKET",
      }),
    ]);
  });

  it("an unsigned narinfo and one for another path: unsigned, wrong-path", async () => {
    const app = fixturePath("feas-app");
    const dep = fixturePath("feas-dep");
    const { dataset, points } = recordingDataset();
    const env = envWith(dataset);
    await bucket().put(`${app.hashPart}.narinfo`, fixtureText(app.xz.narinfoPath).replace(/^Sig: .*\n/m, ""));
    await bucket().put(`${dep.hashPart}.narinfo`, fixtureText(app.xz.narinfoPath));
    expect((await call(env, `/${app.hashPart}.narinfo`)).status).toBe(404);
    expect((await call(env, `/${dep.hashPart}.narinfo`)).status).toBe(404);
    expect(points().map((p) => [p.verification, p.rejectedBy])).toEqual([
      ["unsigned", "r2:NAR_BUCKET"],
      ["wrong-path", "r2:NAR_BUCKET"],
    ]);
  });

  it("a forged narinfo in origin 1, a good one in origin 2 (stub upstream): origin 2 serves, forged kept", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(`${app.hashPart}.narinfo`, fixtureText(app.xz.narinfoPath).replace("feas-dep", "feas-evil"));
    stubOrigins(fixtureUpstream("xz"));
    const { dataset, points } = recordingDataset();
    const env = envWith(dataset, {
      ORIGINS: [
        { type: "r2", binding: "NAR_BUCKET" },
        { type: "http", name: "upstream", url: "http://upstream.stub" },
      ],
    });
    expect((await call(env, `/${app.hashPart}.narinfo`)).status).toBe(200);
    expect(points()).toEqual([
      expect.objectContaining({
        status: 200,
        origin: "upstream",
        originIndex: 1,
        verification: "forged",
        rejectedBy: "r2:NAR_BUCKET",
      }),
    ]);
  });

  it("a small corrupt NAR and no other origin: 502, and the point says corrupt-nar from that origin", async () => {
    const app = fixturePath("feas-app");
    const bad = fixtureBytes(app.xz.narPath).slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    await bucket().put(app.xz.url, bad);
    const { dataset, points } = recordingDataset();
    expect((await call(envWith(dataset), `/${app.xz.url}`)).status).toBe(502);
    expect(points()).toEqual([
      expect.objectContaining({ route: "nar", status: 502, verification: "corrupt-nar", rejectedBy: "r2:NAR_BUCKET" }),
    ]);
  });

  it("a corrupt NAR over VERIFY_BEFORE_SEND_MAX_BYTES: transfer cut, the point says corrupt-nar from it", async () => {
    const app = fixturePath("feas-app");
    const bad = fixtureBytes(app.xz.narPath).slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    await bucket().put(app.xz.url, bad);
    const { dataset, points } = recordingDataset();
    const env = envWith(dataset, { VERIFY_BEFORE_SEND_MAX_BYTES: "0" });
    const { response, body, settled } = await callStreaming(env, `/${app.xz.url}`);
    expect(response.status).toBe(200);
    await expect(body).rejects.toThrow();
    await settled();
    expect(points()).toEqual([
      expect.objectContaining({
        route: "nar",
        status: 200,
        origin: "r2:NAR_BUCKET",
        verification: "corrupt-nar",
        rejectedBy: "r2:NAR_BUCKET",
        transfer: "cut",
      }),
    ]);
    expect(points()[0]!.bytes).toBeLessThan(bad.byteLength);
  });

  it("bad input and unknown paths are counted too, before any origin", async () => {
    const { dataset, points } = recordingDataset();
    const env = envWith(dataset);
    expect((await call(env, "/nar/..%2Fetc")).status).toBe(400);
    expect((await call(env, "/no-such-thing")).status).toBe(404);
    expect(points().map((p) => [p.route, p.cacheStatus, p.status, p.origin])).toEqual([
      ["invalid", "NONE", 400, "none"],
      ["unknown", "NONE", 404, "none"],
    ]);
  });
});

describe("metrics never change the answer", () => {
  async function answers(env: Env, paths: string[]) {
    const out = [];
    for (const path of paths) {
      for (const method of ["GET", "HEAD"]) {
        const res = await call(env, path, { method });
        // Timings and the clock differ from run to run by nature.
        const headers = [...res.headers].filter(([k]) => k !== "server-timing" && k !== "date");
        out.push({ path, method, status: res.status, headers, body: [...(await bytesOf(res))] });
      }
    }
    return out;
  }

  it("a binding whose writes throw: same status, headers and bytes as without metrics", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const paths = [
      `/${app.hashPart}.narinfo`,
      `/${app.xz.url}`,
      `/${app.hashPart}.ls`,
      "/nix-cache-info",
      "/health",
      `/${"0".repeat(32)}.narinfo`,
    ];
    const throwing: AnalyticsEngineDataset = {
      writeDataPoint: () => {
        throw new Error("Analytics Engine unavailable");
      },
    };
    const publicUrl = "https://cache-metrics-compare.test";
    // One edge cache per run (PUBLIC_URL): both runs go miss, then hits, in the same order.
    const without = await answers(testEnv({ PUBLIC_URL: `${publicUrl}-a` }), paths);
    const withThrowing = await answers(
      testEnv({ PUBLIC_URL: `${publicUrl}-b`, METRICS: throwing, METRICS_SAMPLE_RATE: "1" }),
      paths,
    );
    expect(withThrowing).toEqual(without);
    expect(withThrowing.find((a) => a.path === `/${app.xz.url}` && a.method === "GET")!.body.length).toBe(
      fixtureBytes(app.xz.narPath).byteLength,
    );
  });

  it("METRICS_SAMPLE_RATE=0 writes nothing; a bad rate is treated as 1", async () => {
    await seedR2(bucket());
    const none = recordingDataset();
    await call(testEnv({ METRICS: none.dataset, METRICS_SAMPLE_RATE: "0" }), "/nix-cache-info");
    expect(none.points()).toEqual([]);
    const bad = recordingDataset();
    await call(testEnv({ METRICS: bad.dataset, METRICS_SAMPLE_RATE: "lots" }), "/nix-cache-info");
    expect(bad.points()).toEqual([expect.objectContaining({ route: "cache-info", weight: 1 })]);
  });

  it("with a rate of 0.25 each point stands for four requests", async () => {
    const { dataset, points } = recordingDataset();
    const env = testEnv({ METRICS: dataset, METRICS_SAMPLE_RATE: "0.25" });
    for (let i = 0; i < 200; i++) await call(env, "/health");
    expect(points().length).toBeGreaterThan(10);
    expect(points().length).toBeLessThan(120);
    expect(points().every((p) => p.weight === 4 && p.route === "health")).toBe(true);
  });
});
