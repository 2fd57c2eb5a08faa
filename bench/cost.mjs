// Section 6 of `npm run bench`: what one request of each kind costs in money, from operations counted while the
// worker ran, and a month of cache.nixos.org-like traffic projected from them beside the same traffic served as
// today (a CDN in front of S3). Run alone with `npm run bench -- --cost` (see bench/README.md).
//
// Counting happens outside the worker's code: the deployed bundle runs wrapped by bench/workers/counting.mjs, which
// counts every call on every binding (KV, R2, Analytics Engine, …), the Cache API and outbound fetch; S3 requests
// and the bytes S3 sends are counted by a loopback proxy in front of the S3 server (lib/counting-proxy.mjs). CPU is
// workerd's process CPU time over each batch of requests, waitUntil work included (an upper bound of what Workers
// bill: it includes Miniflare's simulated Cache API/KV/R2, which run in the same process).
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { startCountingProxy } from "./lib/counting-proxy.mjs";
import { makeNarinfos } from "./lib/narinfos.mjs";
import { startWorker } from "./lib/services.mjs";
import { COMPATIBILITY_DATE, REPO_ROOT, WRANGLER_ENV, bundleBenchWorker, pool, run, say, sleep } from "./lib/util.mjs";
import { cpuSecondsOf } from "./lib/wrk.mjs";

export const PRICES = JSON.parse(readFileSync(join(REPO_ROOT, "bench", "prices.json"), "utf8"));

const PROFILES = {
  smoke: { narinfos: 6, nars: 3, narBytes: 256 * 1024, concurrency: 2 },
  full: { narinfos: 200, nars: 16, narBytes: 4 * 1024 ** 2, concurrency: 4 },
};

/**
 * A month of cache.nixos.org-like traffic. Published figures where there are any (NixOS Discourse, "NixOS
 * Foundation's Financial Summary: A Transparent Look into 2022", reply 16, May 2023: 1508 TiB served by the CDN in
 * April 2023, 29.5 TiB from S3 to the CDN, a 425 TiB bucket); the request count and mix are not published and are
 * assumptions. Every one is a flag: --cost-requests=…, --cost-narinfo-share=…, --cost-not-found-share=…,
 * --cost-hit-ratio=…, --cost-nar-tib=…, --cost-bucket-tib=…, --cost-r2-shares=0,0.5,0.9.
 */
export const DEFAULT_TRAFFIC = {
  requests: 5e9,
  narinfoShare: 0.8,
  notFoundShare: 0.3,
  hitRatio: 0.98,
  narTiB: 1508,
  bucketTiB: 425,
  r2Shares: [0, 0.5, 0.9, 1],
};
export const TRAFFIC_SOURCES = {
  requests: "assumption (not published)",
  narinfoShare: "assumption: narinfo lookups outnumber NAR downloads (a client asks for every path of a closure)",
  notFoundShare: "assumption: share of narinfo lookups for paths the cache does not have",
  hitRatio: "1 − 29.5 / 1508: bytes from S3 to the CDN over bytes the CDN served, April 2023",
  narTiB: "CDN traffic in April 2023",
  bucketTiB: "size of the cache.nixos.org bucket, 2023 (R2 storage below assumes the R2 share of it is stored in R2)",
  r2Shares: "share of edge misses answered from R2 rather than S3 (grows as backfill fills R2)",
};

export function trafficFromArgs(argv) {
  const t = { ...DEFAULT_TRAFFIC };
  const flag = (name) => argv.find((a) => a.startsWith(`--cost-${name}=`))?.split("=")[1];
  const num = (name, key) => {
    const v = flag(name);
    if (v !== undefined) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--cost-${name}: not a number: ${v}`);
      t[key] = n;
    }
  };
  num("requests", "requests");
  num("narinfo-share", "narinfoShare");
  num("not-found-share", "notFoundShare");
  num("hit-ratio", "hitRatio");
  num("nar-tib", "narTiB");
  num("bucket-tib", "bucketTiB");
  const shares = flag("r2-shares");
  if (shares !== undefined) t.r2Shares = shares.split(",").map(Number);
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// the deployed configuration

/** wrangler.toml's production environment as wrangler reads it (bindings and vars), in a child process. */
async function productionConfig() {
  const script = `
    const { unstable_readConfig } = require("wrangler");
    const c = unstable_readConfig({ config: "wrangler.toml", env: "production" }, {});
    process.stdout.write("\\nCONFIG " + JSON.stringify({
      vars: c.vars ?? {},
      kv: (c.kv_namespaces ?? []).map((k) => k.binding),
      r2: (c.r2_buckets ?? []).map((b) => ({ binding: b.binding, bucket: b.bucket_name })),
      analytics: (c.analytics_engine_datasets ?? []).map((d) => ({
        binding: d.binding,
        dataset: d.dataset ?? d.binding,
      })),
    }) + "\\n");
  `;
  const { stdout } = await run(process.execPath, ["-e", script], { env: WRANGLER_ENV, timeoutMs: 60_000 });
  const line = stdout.split("\n").find((l) => l.startsWith("CONFIG "));
  if (!line) throw new Error(`could not read wrangler.toml's production config:\n${stdout.slice(-1000)}`);
  return JSON.parse(line.slice(7));
}

/** The production origin chain with every S3 origin pointed at the bench's (counted) S3 server. */
function benchOrigins(vars, endpoint, bucket) {
  const origins = typeof vars.ORIGINS === "string" ? JSON.parse(vars.ORIGINS) : vars.ORIGINS;
  if (!Array.isArray(origins)) throw new Error("production ORIGINS is not a list");
  const out = origins.map((o) => (o.type === "s3" ? { ...o, endpoint, bucket, region: "us-east-1" } : o));
  const s3 = out.filter((o) => o.type === "s3");
  if (s3.length === 0 || !out.some((o) => o.type === "r2"))
    throw new Error("the cost bench expects production's chain: R2 and S3");
  // One S3 server here: the first S3 origin is the one misses reach (a second would only see the first's 404s).
  return out.filter((o) => o.type !== "s3" || o === s3[0]);
}

// ---------------------------------------------------------------------------------------------------------------

function nar(bytes) {
  const body = randomFillSync(Buffer.alloc(bytes));
  return { body, hash: createHash("sha256").update(body).digest() };
}

/**
 * GET on a new connection each time (no keep-alive: a pooled connection the server has just closed would fail a
 * request the worker never saw). Resolves { status, headers, body }; a body cut short is an error.
 */
function httpGet(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("error", reject);
      res.on("end", () => {
        if (!res.complete) return reject(new Error(`GET ${url}: body cut short (HTTP ${res.statusCode})`));
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`GET ${url}: no answer in 120 s`)));
    req.on("error", (e) => reject(new Error(`GET ${url}: ${e.message}`)));
  });
}

/** @typedef {{ inflight: number, requests: number, counts: Record<string, number> }} Counters */

/** @returns {Promise<Counters>} */
async function waitIdle(url) {
  /** @type {Counters | undefined} */
  let last;
  for (let i = 0; i < 200; i++) {
    const c = /** @type {Counters} */ (await (await fetch(`${url}/__bench/counters`)).json());
    // Idle twice in a row, 50 ms apart: waitUntil work (edge-cache writes, backfill) has finished.
    if (c.inflight === 0 && last?.inflight === 0) return c;
    last = c;
    await sleep(50);
  }
  throw new Error("the worker's background work did not finish within 10 s");
}

/** Builds workers/counting.mjs around `script` (the deployed bundle, or the probe) into `outfile`. */
async function buildCounting(script, outfile) {
  await bundleBenchWorker("counting.mjs", outfile, { "cache-worker": script });
}

/**
 * Checks the instrument before trusting it: the probe worker makes one call of each billable kind per request, and
 * the counts must say exactly that (a wrapper that missed KV reads, R2 writes in waitUntil, Cache API calls or
 * data points would fail here rather than under-count the cache worker).
 */
async function calibrate(dir, echoUrl) {
  const entry = join(dir, "probe-counting.js");
  await buildCounting(join(REPO_ROOT, "bench", "workers", "probe.mjs"), entry);
  const probe = await startWorker(dir, "cost-probe", {
    scriptPath: entry,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { ECHO_URL: echoUrl },
    kvNamespaces: { KV: "probe-kv" },
    r2Buckets: { BUCKET: "probe-bucket" },
    analyticsEngineDatasets: { AE: { dataset: "probe" } },
  });
  try {
    const n = 5;
    await fetch(`${probe.url}/__bench/reset`, { method: "POST" });
    for (let i = 0; i < n; i++) {
      const r = await fetch(`${probe.url}/p`);
      if ((await r.text()) !== "ok") throw new Error(`cost calibration: probe answered ${r.status}`);
    }
    const counters = await waitIdle(probe.url);
    const kind = {
      cpuMs: 0,
      calls: Object.fromEntries(Object.entries(counters.counts).map(([k, v]) => [k, v / n])),
      s3: { requests: {}, egressBytes: 0 },
      servedBytes: 2,
    };
    const b = billable(kind, { kv: ["KV"], r2: ["BUCKET"], analytics: ["AE"] });
    const want = {
      kvReads: 1,
      kvWrites: 0,
      r2ClassA: 1,
      r2ClassB: 1,
      analyticsPoints: 1,
      cacheCalls: 1,
      subrequests: 1,
    };
    const wrong = Object.entries(want).filter(([k, v]) => b[k] !== v);
    if (wrong.length || counters.requests !== n) {
      throw new Error(
        `cost calibration: the counting wrapper is wrong: ${JSON.stringify(counters)} → ${JSON.stringify(b)}`,
      );
    }
    say(`cost: calibration passed (probe: ${JSON.stringify(counters.counts)} over ${n} requests)`);
  } finally {
    await probe.stop();
  }
}

async function trivialCpuMs(dir, body, P) {
  const trivial = await startWorker(dir, "cost-trivial", {
    scriptPath: join(REPO_ROOT, "bench", "workers", "trivial.mjs"),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { CONSTANT_BODY: body },
  });
  try {
    const n = P.narinfos * 2;
    const once = async () => {
      const r = await fetch(`${trivial.url}/x.narinfo`);
      await r.arrayBuffer();
    };
    await pool(Array(20).fill(0), P.concurrency, once);
    const before = cpuSecondsOf(trivial.workerdPid);
    await pool(Array(n).fill(0), P.concurrency, once);
    return ((cpuSecondsOf(trivial.workerdPid) - before) * 1000) / n;
  } finally {
    await trivial.stop();
  }
}

export async function benchCost({ dir, s3, bucket, cacheWorker, keys, lib, smoke }) {
  const P = smoke ? PROFILES.smoke : PROFILES.full;
  const config = await productionConfig();
  const proxy = await startCountingProxy(s3.port);
  await calibrate(dir, `${proxy.endpoint}/healthcheck`);
  const entry = join(dir, "counting.js");
  await buildCounting(cacheWorker, entry);
  const r2Binding = config.r2[0]?.binding;
  const worker = await startWorker(dir, "cost", {
    scriptPath: entry,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      ...config.vars,
      ORIGINS: JSON.stringify(benchOrigins(config.vars, proxy.endpoint, bucket)),
      TRUSTED_PUBLIC_KEYS: keys.publicKey,
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    },
    kvNamespaces: Object.fromEntries(config.kv.map((b) => [b, `cost-${b}`])),
    r2Buckets: Object.fromEntries(config.r2.map((b) => [b.binding, `cost-${b.bucket}`])),
    ...(config.analytics.length
      ? {
          analyticsEngineDatasets: Object.fromEntries(config.analytics.map((d) => [d.binding, { dataset: d.dataset }])),
        }
      : {}),
  });
  try {
    // --- objects: narinfos and NARs in R2 only, in S3 only, and missing everywhere
    say(`cost: seeding ${P.narinfos * 3 + 2} narinfos and ${P.nars * 2 + 1} NARs of ${P.narBytes / 1024} KiB`);
    const signed = await makeNarinfos(lib, keys.secretKey, P.narinfos * 2 + 2);
    const inR2 = signed.slice(0, P.narinfos);
    const inS3 = signed.slice(P.narinfos, 2 * P.narinfos);
    const [hitNarinfo, notFoundHit] = signed.slice(2 * P.narinfos);
    const missing = Array.from({ length: P.narinfos }, () => `${lib.nix32Encode(randomBytes(20))}.narinfo`);
    const nars = Array.from({ length: P.nars * 2 + 1 }, () => nar(P.narBytes)).map((n) => ({
      ...n,
      key: `nar/${lib.nix32Encode(n.hash)}.nar`,
    }));
    const narsInR2 = nars.slice(0, P.nars);
    const narsInS3 = nars.slice(P.nars, 2 * P.nars);
    const hitNar = nars[2 * P.nars];
    const seedR2 = async (key, body, contentType) => {
      const r = await fetch(`${worker.url}/__bench/r2/${r2Binding}/${encodeURIComponent(key)}`, {
        method: "PUT",
        body,
        headers: { "content-type": contentType },
      });
      if (r.status !== 204) throw new Error(`seeding R2 ${key}: HTTP ${r.status} ${await r.text()}`);
    };
    await pool(inR2, 8, (n) => seedR2(n.key, n.text, "text/x-nix-narinfo"));
    await pool(narsInR2, 4, (n) => seedR2(n.key, n.body, "application/x-nix-nar"));
    await pool([...inS3, hitNarinfo], 8, (n) => s3.client.putObject(bucket, n.key, n.text));
    await pool([...narsInS3, hitNar], 4, (n) => s3.client.putObject(bucket, n.key, n.body, "application/x-nix-nar"));

    // --- request kinds
    const expectations = [];
    const get = async (path, expect) => {
      const r = await httpGet(`${worker.url}/${path}`);
      const body = r.body;
      const cacheStatus = r.headers["x-cache-status"];
      if (
        r.status !== expect.status ||
        (expect.cache && cacheStatus !== expect.cache) ||
        (expect.bytes !== undefined && body.length !== expect.bytes)
      ) {
        throw new Error(
          `cost: GET /${path}: HTTP ${r.status} x-cache-status ${cacheStatus}, ${body.length} bytes; expected ` +
            `${JSON.stringify(expect)}`,
        );
      }
      return body.length;
    };
    const warm = async (path, status) => {
      await get(path, { status });
      for (let i = 0; i < 50; i++) {
        await waitIdle(worker.url);
        if ((await httpGet(`${worker.url}/${path}`)).headers["x-cache-status"] === "HIT") return;
        await sleep(100);
      }
      throw new Error(`cost: /${path} never became an edge hit`);
    };
    await warm(hitNarinfo.key, 200);
    await warm(notFoundHit.key, 404);
    await warm(hitNar.key, 200);
    await waitIdle(worker.url);

    const kinds = [
      {
        id: "narinfoHit",
        label: "narinfo, edge hit",
        paths: Array(P.narinfos).fill(hitNarinfo.key),
        expect: { status: 200, cache: "HIT" },
      },
      {
        id: "narinfoR2",
        label: "narinfo miss, from R2",
        paths: inR2.map((n) => n.key),
        expect: { status: 200, cache: "MISS" },
      },
      {
        id: "narinfoS3",
        label: "narinfo miss, from S3 (backfilled to R2)",
        paths: inS3.map((n) => n.key),
        expect: { status: 200, cache: "MISS" },
      },
      { id: "notFound", label: "narinfo 404, miss everywhere", paths: missing, expect: { status: 404, cache: "MISS" } },
      {
        id: "notFoundHit",
        label: "narinfo 404, edge hit (negative cache)",
        paths: Array(P.narinfos).fill(notFoundHit.key),
        expect: { status: 404, cache: "HIT" },
      },
      {
        id: "narHit",
        label: "NAR, edge hit",
        paths: Array(P.nars).fill(hitNar.key),
        expect: { status: 200, cache: "HIT", bytes: P.narBytes },
      },
      {
        id: "narR2",
        label: "NAR miss, from R2",
        paths: narsInR2.map((n) => n.key),
        expect: { status: 200, cache: "MISS", bytes: P.narBytes },
      },
      {
        id: "narS3",
        label: "NAR miss, from S3 (backfilled to R2)",
        paths: narsInS3.map((n) => n.key),
        expect: { status: 200, cache: "MISS", bytes: P.narBytes },
      },
    ];
    const results = {};
    // The runtime's own CPU per request, measured the same way: the trivial worker (a constant answer).
    const floorCpuMs = await trivialCpuMs(dir, hitNarinfo.text, P);
    for (const kind of kinds) {
      await waitIdle(worker.url);
      await fetch(`${worker.url}/__bench/reset`, { method: "POST" });
      proxy.reset();
      const cpuBefore = cpuSecondsOf(worker.workerdPid);
      let served = 0;
      await pool(kind.paths, P.concurrency, async (p) => {
        const length = await get(p, kind.expect);
        served += length;
      });
      const counters = await waitIdle(worker.url);
      const cpu = cpuSecondsOf(worker.workerdPid) - cpuBefore;
      const s3stats = proxy.snapshot();
      const n = kind.paths.length;
      if (counters.requests !== n)
        throw new Error(`cost ${kind.id}: the wrapper saw ${counters.requests} requests, sent ${n}`);
      results[kind.id] = {
        label: kind.label,
        n,
        servedBytes: served / n,
        cpuMs: (cpu * 1000) / n,
        calls: Object.fromEntries(Object.entries(counters.counts).map(([k, v]) => [k, v / n])),
        s3: {
          requests: Object.fromEntries(Object.entries(s3stats.requests).map(([k, v]) => [k, v / n])),
          egressBytes: s3stats.egressBytes / n,
        },
      };
      expectations.push(kind.id);
      say(
        `cost ${kind.id}: ${n} requests, ${results[kind.id].cpuMs.toFixed(2)} CPU ms/req, calls ` +
          `${JSON.stringify(counters.counts)}, S3 ${JSON.stringify(s3stats.requests)} ${s3stats.egressBytes} B`,
      );
    }
    return {
      profile: P,
      floorCpuMs,
      bindings: {
        kv: config.kv,
        r2: config.r2.map((b) => b.binding),
        analytics: config.analytics.map((d) => d.binding),
      },
      kinds: results,
    };
  } finally {
    await worker.stop();
    await proxy.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// money

const sum = (obj, pred) => Object.entries(obj).reduce((a, [k, v]) => a + (pred(k) ? v : 0), 0);

/** Billable units of one request of a kind, from its counted calls. */
export function billable(kind, bindings, floorCpuMs = 0) {
  const c = kind.calls;
  const ofBinding = (names, methods) => sum(c, (k) => names.some((b) => methods.some((m) => k === `${b}.${m}`)));
  return {
    requests: 1,
    // Billed CPU estimate: workerd's CPU per request above the trivial worker's (the runtime's request handling,
    // which Workers do not bill). Still an upper bound: Miniflare's Cache API/KV/R2 simulators run in that process.
    cpuMs: Math.max(0, kind.cpuMs - floorCpuMs),
    workerdCpuMs: kind.cpuMs,
    kvReads: ofBinding(bindings.kv, ["get", "getWithMetadata"]),
    kvWrites: ofBinding(bindings.kv, ["put", "delete", "list"]),
    r2ClassA: ofBinding(bindings.r2, [
      "put",
      "list",
      "createMultipartUpload",
      "multipart.uploadPart",
      "multipart.complete",
    ]),
    r2ClassB: ofBinding(bindings.r2, ["get", "head"]),
    r2Bytes: ofBinding(bindings.r2, ["get.bytes"]),
    r2BytesWritten: ofBinding(bindings.r2, ["put.bytes", "multipart.uploadPart.bytes"]),
    analyticsPoints: ofBinding(bindings.analytics, ["writeDataPoint"]),
    cacheCalls: (c["cache.match"] ?? 0) + (c["cache.put"] ?? 0) + (c["cache.delete"] ?? 0),
    subrequests: c.fetch ?? 0,
    s3Gets: sum(kind.s3.requests, (k) => k.startsWith("GET ") || k.startsWith("HEAD ")),
    s3EgressBytes: kind.s3.egressBytes,
    servedBytes: kind.servedBytes,
  };
}

const unit = (p) => p.usd / (p.per ?? 1);

/** Dollars for one request of a kind at list prices, egress at S3's first tier (the per-kind table). */
export function perRequestUsd(b, prices = PRICES) {
  const cf = prices.cloudflare;
  const aws = prices.aws;
  const ops =
    b.requests * unit(cf.workersRequests) +
    b.cpuMs * unit(cf.workersCpuMs) +
    b.kvReads * unit(cf.kvReads) +
    b.kvWrites * unit(cf.kvWrites) +
    b.r2ClassA * unit(cf.r2ClassA) +
    b.r2ClassB * unit(cf.r2ClassB) +
    b.analyticsPoints * unit(cf.analyticsEngineDataPoints) +
    b.s3Gets * unit(aws.s3GetRequests);
  const egress = (b.s3EgressBytes / 1024 ** 3) * aws.s3TransferOutTiersPerGb.tiers[0].usd;
  return { ops, egress, total: ops + egress };
}

/** Tiered per-GB price for `gb` in a month, after the free allowance. */
export function tiered(gb, table) {
  let left = Math.max(0, gb - (table.included ?? 0));
  let floor = 0;
  let usd = 0;
  for (const t of table.tiers) {
    const cap = t.upToGb === null ? Infinity : t.upToGb - floor;
    const take = Math.min(left, cap);
    usd += take * t.usd;
    left -= take;
    floor = t.upToGb ?? floor;
    if (left <= 0) break;
  }
  return usd;
}

const over = (units, p) => Math.max(0, units - (p.included ?? 0)) * unit(p);

/**
 * A month of traffic `t` through the worker with `r2Share` of edge misses answered from R2, and the same traffic
 * through a CDN in front of S3. Per-request operations are the measured ones; NAR kinds scale their CPU and S3
 * bytes with the month's average NAR size (measured per byte served).
 */
export function project(cost, t, r2Share, prices = PRICES) {
  const B = Object.fromEntries(
    Object.entries(cost.kinds).map(([id, k]) => [id, billable(k, cost.bindings, cost.floorCpuMs)]),
  );
  const narinfos = t.requests * t.narinfoShare;
  const narRequests = t.requests - narinfos;
  const narBytes = t.narTiB * 1024 ** 4;
  const avgNar = narRequests > 0 ? narBytes / narRequests : 0;
  const h = t.hitRatio;
  const found = narinfos * (1 - t.notFoundShare);
  const notFound = narinfos * t.notFoundShare;
  const mix = {
    narinfoHit: found * h,
    narinfoR2: found * (1 - h) * r2Share,
    narinfoS3: found * (1 - h) * (1 - r2Share),
    notFoundHit: notFound * h,
    notFound: notFound * (1 - h),
    narHit: narRequests * h,
    narR2: narRequests * (1 - h) * r2Share,
    narS3: narRequests * (1 - h) * (1 - r2Share),
  };
  const total = {
    requests: 0,
    cpuMs: 0,
    kvReads: 0,
    kvWrites: 0,
    r2ClassA: 0,
    r2ClassB: 0,
    analyticsPoints: 0,
    s3Gets: 0,
    s3EgressBytes: 0,
    servedBytes: 0,
  };
  for (const [id, count] of Object.entries(mix)) {
    const b = B[id];
    if (!b) throw new Error(`cost: no measurement for ${id}`);
    const isNar = id.startsWith("nar") && !id.startsWith("narinfo");
    // NAR kinds: CPU and S3 bytes per byte served, times the month's average NAR.
    const scale = isNar && b.servedBytes > 0 ? avgNar / b.servedBytes : 1;
    total.requests += count;
    total.cpuMs += count * b.cpuMs * scale;
    total.kvReads += count * b.kvReads;
    total.kvWrites += count * b.kvWrites;
    total.r2ClassA += count * b.r2ClassA;
    total.r2ClassB += count * b.r2ClassB;
    total.analyticsPoints += count * b.analyticsPoints;
    total.s3Gets += count * b.s3Gets;
    total.s3EgressBytes += count * b.s3EgressBytes * scale;
    total.servedBytes += count * b.servedBytes * scale;
  }
  const cf = prices.cloudflare;
  const aws = prices.aws;
  const GB = 1024 ** 3;
  const worker = {
    "Workers Paid plan": cf.workersPaidMonthly.usd,
    "Workers requests": over(total.requests, cf.workersRequests),
    "Workers CPU": over(total.cpuMs, cf.workersCpuMs),
    "KV reads": over(total.kvReads, cf.kvReads),
    "KV writes": over(total.kvWrites, cf.kvWrites),
    "R2 class A": over(total.r2ClassA, cf.r2ClassA),
    "R2 class B": over(total.r2ClassB, cf.r2ClassB),
    "R2 storage": over(t.bucketTiB * r2Share * 1024, cf.r2StorageGbMonth),
    "Analytics Engine": over(total.analyticsPoints, cf.analyticsEngineDataPoints),
    "S3 GET requests": total.s3Gets * unit(aws.s3GetRequests),
    "S3 transfer out": tiered(total.s3EgressBytes / GB, aws.s3TransferOutTiersPerGb),
  };
  // As today: every request reaches the CDN; misses fetch from S3 (request billed, transfer to the CDN free).
  const misses = t.requests * (1 - h);
  const today = {
    "CDN requests": over(t.requests, aws.cloudfrontHttpsRequests),
    "CDN transfer out": tiered(total.servedBytes / GB, aws.cloudfrontTransferOutTiersPerGb),
    "S3 GET requests": misses * unit(aws.s3GetRequests),
  };
  const totalOf = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  return { r2Share, mix, units: total, worker, workerTotal: totalOf(worker), today, todayTotal: totalOf(today) };
}

// ---------------------------------------------------------------------------------------------------------------
// report

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const usd = (x) => (Number.isFinite(x) ? `$${x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(2)}` : "–");
const count = (x) => (x === 0 ? "0" : Number.isInteger(x) ? String(x) : x.toFixed(2));
const bytes = (x) =>
  x >= 1024 ** 2
    ? `${(x / 1024 ** 2).toFixed(2)} MiB`
    : x >= 1024
      ? `${(x / 1024).toFixed(1)} KiB`
      : `${Math.round(x)} B`;
const table = (header, rows) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");

export function renderCost(cost, traffic, { smoke = false } = {}) {
  const out = [];
  const P = cost.profile;
  out.push(`## 7. Cost per request, counted`);
  out.push("");
  out.push(
    `The deployed bundle with wrangler.toml's production bindings ` +
      `(${[...cost.bindings.kv, ...cost.bindings.r2, ...cost.bindings.analytics].join(", ")}) and production's ` +
      `origin chain (R2 with backfill, then S3 through a counting proxy). Each kind: ${P.narinfos} narinfo or ` +
      `${P.nars} NAR requests (${bytes(P.narBytes)} NARs), ${P.concurrency} at a time, every answer checked ` +
      `(status, x-cache-status, length). Calls are counted on the bindings by a wrapper around the bundle ` +
      `(\`workers/counting.mjs\`), S3 requests and bytes at a proxy in front of the S3 server, CPU as workerd's ` +
      `process CPU time over the batch; "billed CPU" is that minus the trivial worker's, measured the same way in ` +
      `the same run (${f(cost.floorCpuMs, 2)} ms: the runtime's own request handling) — still an upper bound, since ` +
      `Miniflare's Cache API, KV and R2 simulators run in that process too. Per request:`,
  );
  out.push("");
  const rows = [];
  for (const k of Object.values(cost.kinds)) {
    const b = billable(k, cost.bindings, cost.floorCpuMs);
    const money = perRequestUsd(b);
    rows.push([
      k.label,
      f(b.workerdCpuMs, 2),
      f(b.cpuMs, 2),
      count(b.kvReads),
      count(b.kvWrites),
      count(b.r2ClassB),
      count(b.r2ClassA),
      b.r2Bytes || b.r2BytesWritten ? `${bytes(b.r2Bytes)} / ${bytes(b.r2BytesWritten)}` : "0",
      count(b.cacheCalls),
      count(b.analyticsPoints),
      count(b.s3Gets),
      bytes(b.s3EgressBytes),
      usd(money.ops * 1e6),
      usd(money.egress * 1e6),
    ]);
  }
  out.push(
    table(
      [
        "request",
        "workerd CPU ms",
        "billed CPU ms (est.)",
        "KV reads",
        "KV writes",
        "R2 class B",
        "R2 class A",
        "R2 bytes read / written",
        "Cache API calls",
        "AE points",
        "S3 GETs",
        "S3 bytes out",
        "$ per million: operations",
        "$ per million: S3 egress",
      ],
      rows,
    ),
  );
  out.push("");
  out.push(
    `Operations: Workers request + CPU + KV + R2 + Analytics Engine + S3 GETs at list price, no free allowance; S3 ` +
      `egress at its first tier ($${PRICES.aws.s3TransferOutTiersPerGb.tiers[0].usd}/GB) for ${bytes(P.narBytes)} ` +
      `NARs. Cache API calls are not billed. Prices: \`bench/prices.json\` (each with its source and the date ` +
      `checked, ${PRICES.checked}).`,
  );
  out.push("");

  out.push(`### A month of cache.nixos.org-like traffic`);
  out.push("");
  const narRequests = traffic.requests * (1 - traffic.narinfoShare);
  out.push(
    table(
      ["parameter", "value", "source"],
      [
        ["requests / month", traffic.requests.toExponential(2), TRAFFIC_SOURCES.requests],
        ["narinfo share of requests", f(traffic.narinfoShare, 2), TRAFFIC_SOURCES.narinfoShare],
        ["404 share of narinfo lookups", f(traffic.notFoundShare, 2), TRAFFIC_SOURCES.notFoundShare],
        ["edge hit ratio (both set-ups)", f(traffic.hitRatio, 3), TRAFFIC_SOURCES.hitRatio],
        [
          "NAR bytes served / month",
          `${traffic.narTiB} TiB (average NAR ${bytes((traffic.narTiB * 1024 ** 4) / narRequests)})`,
          TRAFFIC_SOURCES.narTiB,
        ],
        ["bucket size", `${traffic.bucketTiB} TiB`, TRAFFIC_SOURCES.bucketTiB],
      ],
    ),
  );
  out.push("");
  const projections = traffic.r2Shares.map((s) => project(cost, traffic, s));
  const lines = Object.keys(projections[0].worker);
  const header = [
    "USD / month",
    ...projections.map((p) => `worker, ${Math.round(p.r2Share * 100)} % of misses from R2`),
  ];
  const prow = lines.map((l) => [l, ...projections.map((p) => usd(p.worker[l]))]);
  prow.push(["**worker total**", ...projections.map((p) => `**${usd(p.workerTotal)}**`)]);
  out.push(table(header, prow));
  out.push("");
  const today = projections[0];
  out.push(
    table(
      ["USD / month", "as today: CDN (CloudFront list price) in front of S3"],
      [...Object.entries(today.today).map(([k, v]) => [k, usd(v)]), ["**total**", `**${usd(today.todayTotal)}**`]],
    ),
  );
  out.push("");
  out.push(
    'Both exclude S3 storage (paid in both set-ups). "R2 storage" assumes the R2 share of the bucket is stored in ' +
      "R2 (the hot set is smaller). The worker's CPU is the billed-CPU estimate above (an upper bound); NAR kinds " +
      "scale CPU and S3 bytes with the month's average NAR. The edge hit ratio is the same parameter for both " +
      "set-ups; the Workers Cache API is per data centre, so a lower ratio through the worker is the main risk to " +
      "these numbers (`--cost-hit-ratio=`).",
  );
  out.push("");
  if (smoke) out.push("_Smoke run: a handful of requests per kind; the CPU figures are coarse (10 ms clock ticks)._\n");
  return out.join("\n");
}
