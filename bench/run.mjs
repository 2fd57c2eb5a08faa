// The benchmark suite: `npm run bench` (full, writes bench/RESULTS.md) and `npm run bench:smoke` (CI: tiny sizes,
// seconds, no targets asserted, fails only when a benchmark cannot run). See bench/README.md.
//
// Every number is taken against a baseline measured in the same invocation on the same machine:
//   1. narinfo edge hit      cache worker vs a trivial worker (constant answer), same runtime, same way  (wrk)
//   2. narinfo miss          cache worker → S3 (Swift, SigV4, signature check) vs direct signed GETs      (wrk)
//   3. NAR streaming         ≥ 1 GiB through the worker vs directly from S3; workerd RSS growth         (curl)
//   4. pure core             parse + verify, format + sign, per operation, timed inside workerd
//   5. static reference      the same narinfo and NAR from nginx (context, not a target)
import { createHash, randomFillSync } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { loadNarinfoLib, makeKeyPair, makeNarinfos } from "./lib/narinfos.mjs";
import { runMain, s3CacheWorkerBindings, startNginx, startS3, startWorker, stopAll } from "./lib/services.mjs";
import {
  COMPATIBILITY_DATE,
  REPO_ROOT,
  WRANGLER_ENV,
  bundleBenchWorker,
  bundleCacheWorker,
  median,
  pool,
  run,
  sampleRss,
  say,
  sleep,
} from "./lib/util.mjs";
import { wrk } from "./lib/wrk.mjs";
import { writeResults } from "./lib/report.mjs";
import { extraSelection, renderExtra, runExtra } from "./extra.mjs";

const SMOKE = process.argv.includes("--smoke");
const KEEP = process.argv.includes("--keep");
// `--only=nar,slow` re-runs those sections (hit, miss, nar, core, slow) and keeps the others' numbers from the last
// full run (bench/results.json); RESULTS.md then says which sections are from which run.
const ONLY = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const runs = (section) => !ONLY || ONLY.includes(section);
// Sections 7 and 8 (bench/extra.mjs): `--cost` / `--closure` run only those; with `--only=`, they run when named
// there (`--only=cost,closure`).
const EXTRA = extraSelection(process.argv);
if (ONLY) Object.assign(EXTRA, { cost: ONLY.includes("cost"), closure: ONLY.includes("closure") });

const PROFILE = SMOKE
  ? {
      hit: { threads: 2, connections: 32, warmupS: 1, seconds: 1, rounds: 1 },
      miss: { concurrencies: [4], seconds: 1, rounds: 1, keys: 1500 },
      nar: { bytes: 16 * 1024 ** 2, rounds: 1 },
      core: { rounds: 1, targetMs: 10, slices: 2 },
      slow: { bytes: 16 * 1024 ** 2, rate: "2M" },
    }
  : {
      hit: { threads: 2, connections: 32, warmupS: 2, seconds: 4, rounds: 5 },
      miss: { concurrencies: [1, 8], seconds: 4, rounds: 3, keys: 9000 },
      nar: { bytes: 1024 ** 3, rounds: 3 },
      core: { rounds: 11, targetMs: 100, slices: 40 },
      slow: { bytes: 256 * 1024 ** 2, rate: "2M" },
    };

const BUCKET = "nix-cache-bench";

// ---------------------------------------------------------------------------------------------------------------

async function requireTools() {
  const missing = [];
  for (const [cmd, args] of /** @type {[string, string[]][]} */ ([
    ["wrk", ["-v"]],
    ["nginx", ["-v"]],
    ["curl", ["--version"]],
    ["swift-proxy-server", ["--help"]],
    ["memcached", ["-h"]],
  ])) {
    await run(cmd, args, { timeoutMs: 10_000 }).catch((e) => {
      if (/cannot run/.test(e.message)) missing.push(cmd);
    });
  }
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(", ")}. Install: apt-get install -y wrk nginx-light curl memcached swift swift-proxy ` +
        `swift-account swift-container swift-object`,
    );
  }
}

async function machineInfo() {
  const version = async (cmd, args, re = /(\S+)/) => {
    try {
      const { stdout, stderr } = await run(cmd, args, { timeoutMs: 10_000 });
      return re.exec(stdout + stderr)?.[1] ?? "?";
    } catch (e) {
      // `wrk -v` prints its version and exits 1.
      return re.exec(e.message)?.[1] ?? "?";
    }
  };
  const pkg = (name) => JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")).version;
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memoryGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    kernel: os.release(),
    node: process.version,
    wrangler: pkg("wrangler"),
    miniflare: pkg("miniflare"),
    workerd: await version(
      join(REPO_ROOT, "node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd"),
      ["--version"],
      /workerd (\S+)/,
    ),
    wrk: await version("wrk", ["-v"], /wrk (\S+) \[/),
    nginx: await version("nginx", ["-v"], /nginx\/(\S+)/),
    curl: await version("curl", ["--version"], /curl (\S+)/),
    swift: await version("dpkg-query", ["-W", "-f=${Version}", "swift"]),
  };
}

/** The cache worker exactly as `wrangler deploy` would upload it, and the core-bench worker. */
async function bundle(dir) {
  say("bundling the cache worker (wrangler deploy --dry-run)");
  const cacheWorker = await bundleCacheWorker(join(dir, "dist"), { env: WRANGLER_ENV, timeoutMs: 120_000 });
  return {
    cacheWorker,
    coreWorker: await bundleBenchWorker("core-bench.ts", join(dir, "core-bench.js")),
    proxyWorker: await bundleBenchWorker("s3-proxy.ts", join(dir, "s3-proxy.js")),
  };
}

/** Writes `bytes` of pseudo-random data to `path`; returns its sha256 (raw bytes). */
async function makeNar(path, bytes) {
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  for (let written = 0; written < bytes;) {
    const n = Math.min(chunk.length, bytes - written);
    randomFillSync(chunk, 0, n);
    const piece = chunk.subarray(0, n);
    hash.update(piece);
    if (!out.write(piece)) await new Promise((r) => out.once("drain", () => r(undefined)));
    written += n;
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  return new Uint8Array(hash.digest());
}

/** curl GET, body discarded; returns { bytes, seconds, status, headers }. `rate` limits curl's reading
 * (--limit-rate). */
async function curlGet(url, rate) {
  const limit = rate ? ["--limit-rate", rate] : [];
  const { stdout } = await run(
    "curl",
    ["-sS", ...limit, "-o", "/dev/null", "-D", "-", "-w", "\nCURL %{http_code} %{size_download} %{time_total}\n", url],
    {
      timeoutMs: 900_000,
    },
  );
  const m = /CURL (\d+) (\d+) ([\d.]+)/.exec(stdout);
  const cacheStatus = /^x-cache-status: (\S+)/im.exec(stdout)?.[1];
  return { status: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]), cacheStatus };
}

async function get(url) {
  const r = await fetch(url);
  return { status: r.status, cacheStatus: r.headers.get("x-cache-status"), text: await r.text() };
}

// ---------------------------------------------------------------------------------------------------------------
// the benchmarks

async function benchCore(worker) {
  const P = PROFILE.core;
  const call = async (op, n) => {
    const r = await fetch(`${worker.url}/?op=${encodeURIComponent(op)}&n=${n}`);
    if (!r.ok) throw new Error(`core bench ${op}: HTTP ${r.status} ${await r.text()}`);
    return /** @type {{ ms: number }} */ (await r.json()).ms;
  };
  const ops = /** @type {string[]} */ (await (await fetch(worker.url)).json());
  // Warm-up and calibration: n such that one timed loop takes about targetMs (the clock inside workerd may be
  // coarse, so loops are long and the time is taken inside the worker, around the loop only).
  const sizes = {};
  for (const op of ops) {
    let n = 100;
    let probe = await call(op, n);
    while (probe < 5 && n < 1e7) probe = await call(op, (n *= 4));
    sizes[op] = Math.max(n, Math.round((P.targetMs / probe) * n));
    // Once more at that size: the first probes of a fast operation include its compilation, which would leave its
    // loops far shorter than targetMs (a few ms, where the runtime's whole-millisecond clock is coarse).
    probe = await call(op, sizes[op]);
    sizes[op] = Math.max(n, Math.round((P.targetMs / probe) * sizes[op]));
  }
  // Rounds outside, operations inside: a burst of load from elsewhere on the machine then hits every operation
  // alike instead of all rounds of one.
  const perOp = Object.fromEntries(ops.map((op) => [op, []]));
  // Our share of parse + verify: the runtime's bare verify subtracted within the same request, the two loops in
  // alternating slices (workers/core-bench.ts, pair), one difference per round; the median of those differences.
  const [whole, floor] = ["parse+verify", "ed25519-verify (runtime)"];
  // The runtime's clock moves in whole milliseconds (docs/toolchain.md, Benchmarks): for the difference of two ~50 µs
  // operations to be read to a fraction of a microsecond, the pair runs ~10 loops' worth (~1 s per operation, slices
  // of ~25 ms: the finer the alternation, the less a change in the machine's load falls on one side). At half that,
  // one round's difference still moved by ±1.5 µs from the next.
  const pairN = 10 * sizes[floor];
  const oursPerRound = [];
  for (let i = 0; i < P.rounds; i++) {
    for (const op of ops) perOp[op].push(((await call(op, sizes[op])) / sizes[op]) * 1000);
    const r = await fetch(
      `${worker.url}/?a=${encodeURIComponent(whole)}&b=${encodeURIComponent(floor)}&n=${pairN}&slices=${P.slices}`,
    );
    if (!r.ok) throw new Error(`core bench ${whole} − ${floor}: HTTP ${r.status} ${await r.text()}`);
    const p = /** @type {{ n: number, msA: number, msB: number }} */ (await r.json());
    if (!(p.msA > 0 && p.msB > 0))
      throw new Error(`core bench ${whole} − ${floor}: the runtime's clock did not advance`);
    oursPerRound.push(((p.msA - p.msB) / p.n) * 1000);
  }
  const results = {};
  for (const op of ops) {
    if (!(median(perOp[op]) > 0)) throw new Error(`core bench ${op}: the runtime's clock did not advance`);
    results[op] = { us: median(perOp[op]), minUs: Math.min(...perOp[op]), n: sizes[op], rounds: P.rounds };
    say(`core ${op}: median ${results[op].us.toFixed(1)} µs/op, best ${results[op].minUs.toFixed(1)}`);
  }
  // Attribution: our code alone, the runtime's verify replaced by an answered promise (workers/core-bench.ts), each
  // round's difference of the two stubbed loops.
  const [stubbed, stubAlone] = ["parse+verify (runtime's verify stubbed)", "stub alone (runtime's verify stubbed)"];
  const alonePerRound = perOp[stubbed].map((us, i) => us - perOp[stubAlone][i]);
  results.oursAlone = { us: median(alonePerRound), minUs: Math.min(...alonePerRound), perRound: alonePerRound };
  results.ours = {
    us: median(oursPerRound),
    minUs: Math.min(...oursPerRound),
    n: pairN,
    rounds: P.rounds,
    slices: P.slices,
    perRound: oursPerRound,
  };
  say(
    `core ours (${whole} − ${floor}, same request): per round ${oursPerRound.map((d) => d.toFixed(1)).join(", ")} µs`,
  );
  return results;
}

async function benchHit(targets) {
  const P = PROFILE.hit;
  const load = (t, seconds) =>
    wrk({ url: t.url, threads: P.threads, connections: P.connections, seconds, serverPid: t.pid });
  for (const t of targets) await load(t, P.warmupS);
  const rounds = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let i = 0; i < P.rounds; i++) {
    // Every other round in reverse order, so that no worker always runs right after the same neighbour.
    for (const t of i % 2 === 0 ? targets : [...targets].reverse()) {
      const r = await load(t, P.seconds);
      if (r.errors > 0) throw new Error(`narinfo hit ${t.name}: ${JSON.stringify(r.errorDetail)} errors`);
      rounds[t.name].push(r);
      say(
        `hit ${t.name} round ${i + 1}: ${r.rps.toFixed(0)} req/s p50 ${r.p50Ms.toFixed(2)} ms p99 ` +
          `${r.p99Ms.toFixed(2)} ms cpu ${r.cpuUsPerReq.toFixed(0)} µs/req`,
      );
    }
  }
  // The target's ratio: ours against the floor (trivial + one Cache API match), taken within each round (the two
  // ran seconds apart, under the same outside load), then the median over rounds.
  const vsFloor = rounds.cache.map((r, i) => r.rps / rounds.cacheApiOnly[i].rps);
  say(`hit cache / cacheApiOnly per round: ${vsFloor.map((x) => x.toFixed(2)).join(", ")}`);
  return { ...summarize(rounds), vsFloor: { median: median(vsFloor), perRound: vsFloor } };
}

function summarize(rounds) {
  return Object.fromEntries(
    Object.entries(rounds).map(([name, rs]) => [
      name,
      {
        rps: median(rs.map((r) => r.rps)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
        rpsPerRound: rs.map((r) => r.rps),
        requests: rs.reduce((a, r) => a + r.requests, 0),
        rounds: rs.length,
      },
    ]),
  );
}

async function benchMiss({ worker, workerNoStore, proxy, proxyEdge, proxyEdgeNoStore, cacheOnly, s3, dir, narinfos }) {
  const P = PROFILE.miss;
  const workerPaths = join(dir, "miss-worker.paths");
  const directPaths = join(dir, "miss-direct.paths");
  await writeFile(workerPaths, narinfos.map((n) => `/${n.key}`).join("\n") + "\n");
  const presigned = [];
  for (const n of narinfos) {
    const u = new URL(await s3.presign(BUCKET, n.key));
    presigned.push(u.pathname + u.search);
  }
  await writeFile(directPaths, presigned.join("\n") + "\n");
  // The Cache-API-only worker needs fresh keys too, but not real narinfos.
  const cacheApiPaths = join(dir, "miss-cache-api.paths");
  await writeFile(cacheApiPaths, Array.from({ length: 200_000 }, (_, i) => `/fresh-${i}.narinfo`).join("\n") + "\n");
  // Proof that the direct path is a real signed GET of the same bytes.
  const check = await get(`${s3.endpoint}${presigned[0]}`);
  if (check.status !== 200 || check.text !== narinfos[0].text)
    throw new Error(`presigned GET failed: ${check.status} ${check.text.slice(0, 300)}`);

  // Keys are used once each across the whole benchmark: every worker request is a real edge miss.
  let offset = 0;
  let cacheApiOffset = 0;
  const out = {};
  for (const c of P.concurrencies) {
    const threads = Math.min(2, c);
    const rounds = {
      direct: [],
      proxy: [],
      proxyEdge: [],
      cacheApi: [],
      worker: [],
      workerNoStore: [],
      proxyEdgeNoStore: [],
    };
    // One wrk run against `url`, the CPU counted in `pid`'s workerd (none for S3 itself).
    const load = (url, pid, paths, from, expect = undefined) =>
      wrk({ url, threads, connections: c, seconds: P.seconds, paths, offset: from, expect, serverPid: pid });
    for (let i = 0; i < P.rounds; i++) {
      // Direct and pass-through GETs cache nothing: they may wrap around the key list; the worker and the Cache API
      // worker must not (every one of their requests has to be a real miss).
      const reused = offset % narinfos.length;
      const d = await load(s3.endpoint, undefined, directPaths, reused);
      const w = await load(worker.url, worker.workerdPid, workerPaths, offset, "x-cache-status=MISS");
      // The pass-through proxy caches nothing, so it reuses the direct run's keys.
      const p = await load(proxy.url, proxy.workerdPid, workerPaths, reused);
      // The same plus a Cache API match (a fresh key every request: always a miss) and a put of the answer.
      const e = await load(proxyEdge.url, proxyEdge.workerdPid, workerPaths, reused);
      // The cache worker once more, Miniflare's Cache API storage off (it stores nothing, so it may reuse the direct
      // run's keys; each answer is still checked to be a MISS): what it costs where the cache's storage is not in
      // the worker's process, as in production.
      const n = await load(workerNoStore.url, workerNoStore.workerdPid, workerPaths, reused, "x-cache-status=MISS");
      // And the pass-through worker's match and put against that same no-op cache: the floor of the row above.
      const en = await load(proxyEdgeNoStore.url, proxyEdgeNoStore.workerdPid, workerPaths, reused);
      // Cache API miss + put for fresh keys (its own workerd and cache, so the same keys are fresh there too).
      const k = await load(cacheOnly.url, cacheOnly.workerdPid, cacheApiPaths, cacheApiOffset);
      const runs = {
        direct: d,
        proxy: p,
        proxyEdge: e,
        cacheApi: k,
        worker: w,
        workerNoStore: n,
        proxyEdgeNoStore: en,
      };
      for (const [name, r] of Object.entries(runs)) {
        if (r.errors > 0) throw new Error(`narinfo miss ${name} c=${c}: errors ${JSON.stringify(r.errorDetail)}`);
      }
      if (w.wrapped > 0 || k.wrapped > 0)
        throw new Error(`narinfo miss c=${c}: ran out of distinct keys (raise miss.keys)`);
      if (w.mismatched > 0 || n.mismatched > 0)
        throw new Error(`narinfo miss: ${w.mismatched + n.mismatched} worker answers were not MISS`);
      // Thread t of n takes lines t, t+n, …: the faster thread runs ahead, so the next round starts past where a
      // thread that made every request of the run could have reached.
      offset += threads * w.requests + 2 * c;
      cacheApiOffset += threads * k.requests + 2 * c;
      for (const [name, r] of Object.entries(runs)) rounds[name].push(r);
      say(
        `miss c=${c} round ${i + 1}: direct p50 ${d.p50Ms.toFixed(2)} ms (${d.rps.toFixed(0)}/s), proxy ` +
          `p50 ${p.p50Ms.toFixed(2)} ms (${p.cpuUsPerReq.toFixed(0)} µs CPU), ` +
          `proxy + Cache API p50 ${e.p50Ms.toFixed(2)} ` +
          `ms (${e.cpuUsPerReq.toFixed(0)} µs), worker p50 ${w.p50Ms.toFixed(2)} ms (${w.rps.toFixed(0)}/s, ` +
          `${w.cpuUsPerReq.toFixed(0)} µs CPU), without the cache's storage ${n.p50Ms.toFixed(2)} ms ` +
          `(${n.cpuUsPerReq.toFixed(0)} µs CPU)`,
      );
    }
    out[c] = summarize(rounds);
  }
  return out;
}

async function benchNar({ worker, proxy, proxyHash, nginx, s3, narKey, size }) {
  const P = PROFILE.nar;
  const directUrl = await s3.presign(BUCKET, narKey);
  const rounds = { direct: [], worker: [], nginx: [], proxy: [], proxyHash: [] };
  const memory = [];
  const check = (name, r) => {
    if (r.status !== 200 || r.bytes !== size)
      throw new Error(`NAR ${name}: HTTP ${r.status}, ${r.bytes} of ${size} bytes`);
  };
  // Warm-up (page cache, connections): one pass straight from S3. Every pass through the worker is checked in full.
  check("warm-up", await curlGet(directUrl));
  for (let i = 0; i < P.rounds; i++) {
    const d = await curlGet(directUrl);
    check("direct", d);
    await sleep(500);
    const sampler = sampleRss(worker.workerdPid);
    const w = await curlGet(`${worker.url}/${narKey}`);
    const mem = sampler.stop();
    check("worker", w);
    if (w.cacheStatus !== "BYPASS" && size > 512 * 1024 ** 2)
      throw new Error(`NAR through the worker: x-cache-status ${w.cacheStatus}`);
    const n = await curlGet(`${nginx.url}/${narKey}`);
    check("nginx", n);
    // Attribution: the runtime's own streaming (pass-through), and with a native sha256 of every byte.
    const p = await curlGet(`${proxy.url}/${narKey}`);
    check("pass-through", p);
    const h = await curlGet(`${proxyHash.url}/${narKey}`);
    check("pass-through + sha256", h);
    for (const [name, r] of /** @type {[string, typeof d][]} */ ([
      ["direct", d],
      ["worker", w],
      ["nginx", n],
      ["proxy", p],
      ["proxyHash", h],
    ]))
      rounds[name].push(size / r.seconds / 1024 ** 2);
    memory.push(mem);
    const mibs = (/** @type {{ seconds: number }} */ r) => (size / r.seconds / 1024 ** 2).toFixed(0);
    say(
      `NAR round ${i + 1}: direct ${mibs(d)} MiB/s, worker ${mibs(w)} ` +
        `MiB/s, pass-through ${mibs(p)}, + sha256 ${mibs(h)}, ` +
        `nginx ${(size / n.seconds / 1024 ** 2).toFixed(0)} MiB/s; workerd RSS ${(mem.idle / 1024 ** 2).toFixed(0)} ` +
        `→ ${(mem.peak / 1024 ** 2).toFixed(0)} MiB`,
    );
  }
  return {
    size,
    mibps: Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)])),
    // The round with the largest growth (the first, on a fresh runtime): its RSS before and its peak.
    ...(() => {
      const worst = memory.reduce((a, m) => (m.growth > a.growth ? m : a));
      return { idleMiB: worst.idle / 1024 ** 2, peakMiB: worst.peak / 1024 ** 2, growthMiB: worst.growth / 1024 ** 2 };
    })(),
    growthPerRoundMiB: memory.map((m) => m.growth / 1024 ** 2),
    rounds: P.rounds,
  };
}

/**
 * 6. A slow client on an edge miss: one hash-named NAR under 512 MB (so the worker also writes it to the edge
 * cache, and with backfill to R2) read by curl at `rate`. What is measured is workerd's RSS growth: the copies read
 * at origin speed, the client at 2 MiB/s, and the pump (src/streams/fanOut.ts) must hold the difference to its
 * window. A second, unthrottled request must then be a HIT with every byte: the copy was whole.
 */
async function benchSlow({ dir, cacheOptions, narKey, size }) {
  // The S3 origin of section 1's worker, alone and behind an R2 that is backfilled.
  const [s3Origin] = JSON.parse(cacheOptions.bindings.ORIGINS);
  const P = PROFILE.slow;
  const variants = [
    { name: "edge copy", origins: [s3Origin] },
    { name: "edge copy + backfill to R2", origins: [{ type: "r2", binding: "NAR_BUCKET", backfill: true }, s3Origin] },
  ];
  const out = [];
  for (const [i, v] of variants.entries()) {
    const worker = await startWorker(dir, `slow-${i}`, {
      ...cacheOptions,
      bindings: { ...cacheOptions.bindings, ORIGINS: JSON.stringify(v.origins) },
      r2Buckets: { NAR_BUCKET: `slow-${i}` },
    });
    try {
      await sleep(500);
      const sampler = sampleRss(worker.workerdPid);
      const r = await curlGet(`${worker.url}/${narKey}`, P.rate);
      const mem = sampler.stop();
      if (r.status !== 200 || r.bytes !== size || r.cacheStatus !== "MISS")
        throw new Error(`slow client (${v.name}): HTTP ${r.status} ${r.cacheStatus}, ${r.bytes} of ${size}`);
      let hit;
      for (let k = 0; k < 50 && hit?.cacheStatus !== "HIT"; k++) {
        await sleep(200);
        hit = await curlGet(`${worker.url}/${narKey}`);
      }
      if (hit.cacheStatus !== "HIT" || hit.bytes !== size)
        throw new Error(`slow client (${v.name}): the edge copy is ${hit.cacheStatus}, ${hit.bytes} of ${size}`);
      out.push({
        name: v.name,
        mibps: size / r.seconds / 1024 ** 2,
        idleMiB: mem.idle / 1024 ** 2,
        peakMiB: mem.peak / 1024 ** 2,
        growthMiB: mem.growth / 1024 ** 2,
      });
      say(
        `slow client (${v.name}): ${(size / r.seconds / 1024 ** 2).toFixed(2)} MiB/s, workerd RSS ` +
          `${(mem.idle / 1024 ** 2).toFixed(0)} → ${(mem.peak / 1024 ** 2).toFixed(0)} MiB`,
      );
    } finally {
      await worker.stop();
    }
  }
  return { size, rate: P.rate, variants: out };
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const wall = Date.now();
  await requireTools();
  const machine = await machineInfo();
  const dir = await mkdtemp(join(os.tmpdir(), "nix-edge-bench-"));
  say(`${SMOKE ? "smoke" : "full"} run in ${dir}`);
  const free = Number((await run("df", ["-B1", "--output=avail", dir])).stdout.trim().split("\n").pop());
  if (free < PROFILE.nar.bytes * 3)
    throw new Error(`not enough disk under ${dir}: need ${(PROFILE.nar.bytes * 3) / 1024 ** 3} GiB`);
  try {
    const { cacheWorker, coreWorker, proxyWorker } = await bundle(dir);
    const lib = await loadNarinfoLib(dir);
    const keys = makeKeyPair("nix-edge-bench-1");
    say("signing narinfos");
    const [hitNarinfo, ...missNarinfos] = await makeNarinfos(
      lib,
      keys.secretKey,
      runs("miss") ? PROFILE.miss.keys + 1 : 1,
    );

    say("starting the S3 server (Swift + s3api)");
    const s3 = await startS3(dir);
    await s3.client.createBucket(BUCKET);
    const extraContext = { dir, s3, bucket: BUCKET, cacheWorker, proxyWorker, keys, lib, smoke: SMOKE };
    if (EXTRA.only) {
      const extra = await runExtra(EXTRA, extraContext);
      process.stdout.write(renderExtra({ ...extra, smoke: SMOKE }) + "\n");
      say(
        `done in ${Math.round((Date.now() - wall) / 1000)} s (sections ` +
          `${[EXTRA.cost && 7, EXTRA.closure && 8].filter(Boolean).join(", ")} only; bench/RESULTS.md not written)`,
      );
      return;
    }
    say(`uploading ${missNarinfos.length + 1} narinfos`);
    await pool([hitNarinfo, ...missNarinfos], 16, (n) => s3.client.putObject(BUCKET, n.key, n.text));

    const www = join(dir, "www");
    await mkdir(join(www, "nar"), { recursive: true });
    await writeFile(join(www, hitNarinfo.key), hitNarinfo.text);
    const uploadNar = async (bytes) => {
      say(`writing a ${(bytes / 1024 ** 2).toFixed(0)} MiB NAR`);
      const narTmp = join(dir, "nar.tmp");
      const key = `nar/${lib.nix32Encode(await makeNar(narTmp, bytes))}.nar`;
      await rename(narTmp, join(www, key));
      say(`uploading ${key}`);
      await run(
        "curl",
        [
          "-sS",
          "-f",
          "-X",
          "PUT",
          "-H",
          "Expect:",
          "-H",
          "content-type: application/x-nix-nar",
          "-T",
          join(www, key),
          await s3.presign(BUCKET, key, "PUT"),
        ],
        {
          timeoutMs: 600_000,
        },
      );
      return key;
    };
    const narKey = runs("nar") ? await uploadNar(PROFILE.nar.bytes) : undefined;
    const slowNarKey = runs("slow") ? await uploadNar(PROFILE.slow.bytes) : undefined;

    const cacheOptions = {
      scriptPath: cacheWorker,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: s3CacheWorkerBindings(s3, BUCKET, keys.publicKey),
      // As deployed: the denylist KV is bound (empty; the isolate re-reads it at most every 30 s).
      kvNamespaces: { DENYLIST: "denylist" },
    };
    say("starting workers");
    const cache = await startWorker(dir, "cache", cacheOptions);
    const trivial = await startWorker(dir, "trivial", {
      scriptPath: join(REPO_ROOT, "bench", "workers", "trivial.mjs"),
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { CONSTANT_BODY: hitNarinfo.text },
    });
    // Attribution only (where an edge hit's time goes): the trivial worker plus one Cache API match, and the cache
    // worker without the denylist binding (no KV lookup).
    const cacheOnly = await startWorker(dir, "cache-api-only", {
      scriptPath: join(REPO_ROOT, "bench", "workers", "cache-only.mjs"),
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { CONSTANT_BODY: hitNarinfo.text },
    });
    const noDeny = await startWorker(dir, "cache-no-denylist", { ...cacheOptions, kvNamespaces: {} });
    const core = await startWorker(dir, "core", {
      scriptPath: coreWorker,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { NARINFO: hitNarinfo.text, PUBLIC_KEY: keys.publicKey, SECRET_KEY: keys.secretKey },
    });
    const proxyBindings = {
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const proxy = await startWorker(dir, "s3-proxy", {
      scriptPath: proxyWorker,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: proxyBindings,
    });
    // Attribution for section 3: the same pass-through, hashing every byte natively (no JavaScript per chunk).
    const proxyHash = await startWorker(dir, "s3-proxy-hash", {
      scriptPath: proxyWorker,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { ...proxyBindings, HASH_BODY: "1" },
    });
    // Attribution for the miss: the pass-through worker plus the Cache API match and put any edge cache does.
    const proxyEdge = runs("miss")
      ? await startWorker(dir, "s3-proxy-edge", {
          scriptPath: proxyWorker,
          compatibilityDate: COMPATIBILITY_DATE,
          bindings: { ...proxyBindings, EDGE_CACHE: "1" },
        })
      : undefined;
    // Attribution for the miss: the cache worker and the pass-through worker with its match and put, both with
    // Miniflare's Cache API storage off (section 2).
    const cacheNoStore = runs("miss")
      ? await startWorker(dir, "cache-no-cache-storage", { ...cacheOptions, cache: false })
      : undefined;
    const proxyEdgeNoStore = runs("miss")
      ? await startWorker(dir, "s3-proxy-edge-no-cache-storage", {
          scriptPath: proxyWorker,
          compatibilityDate: COMPATIBILITY_DATE,
          bindings: { ...proxyBindings, EDGE_CACHE: "1" },
          cache: false,
        })
      : undefined;
    const nginx = await startNginx(dir, www);

    // --- 4. pure core (first: the machine is quiet)
    let coreResults;
    if (runs("core")) {
      say("4. pure core");
      coreResults = await benchCore(core);
    }
    await core.stop();

    // --- 1. narinfo edge hit (and 5. nginx serving the same narinfo)
    let hit;
    if (runs("hit")) {
      say("1. narinfo edge hit");
      const hitUrl = `${cache.url}/${hitNarinfo.key}`;
      const first = await get(hitUrl);
      if (first.status !== 200 || first.cacheStatus !== "MISS")
        throw new Error(`first narinfo request: ${first.status} ${first.cacheStatus} ${first.text}`);
      let warm;
      for (let i = 0; i < 50 && warm?.cacheStatus !== "HIT"; i++) {
        await sleep(100);
        warm = await get(hitUrl);
      }
      if (warm.cacheStatus !== "HIT" || warm.text !== first.text)
        throw new Error(`the narinfo never became an edge hit: ${warm.cacheStatus}`);
      const nginxCheck = await get(`${nginx.url}/${hitNarinfo.key}`);
      if (nginxCheck.text !== hitNarinfo.text) throw new Error("nginx does not serve the narinfo");
      for (const w of [noDeny, cacheOnly]) {
        const url = `${w.url}/${hitNarinfo.key}`;
        await get(url);
        let status;
        for (let i = 0; i < 50 && status !== "HIT"; i++) {
          await sleep(100);
          const r = await fetch(url);
          await r.text();
          status = w === cacheOnly ? (r.headers.get("cf-cache-status") ?? "HIT") : r.headers.get("x-cache-status");
        }
      }
      hit = await benchHit([
        { name: "trivial", url: `${trivial.url}/${hitNarinfo.key}`, pid: trivial.workerdPid },
        // The target's pair side by side.
        { name: "cacheApiOnly", url: `${cacheOnly.url}/${hitNarinfo.key}`, pid: cacheOnly.workerdPid },
        { name: "cache", url: hitUrl, pid: cache.workerdPid },
        { name: "cacheNoDenylist", url: `${noDeny.url}/${hitNarinfo.key}`, pid: noDeny.workerdPid },
        { name: "nginx", url: `${nginx.url}/${hitNarinfo.key}` },
      ]);
      const after = await get(hitUrl);
      if (after.cacheStatus !== "HIT") throw new Error(`after the hit benchmark the narinfo is ${after.cacheStatus}`);
    }
    await Promise.all([trivial.stop(), noDeny.stop()]);

    // --- 2. narinfo miss
    let miss;
    if (runs("miss")) {
      say("2. narinfo miss");
      miss = await benchMiss({
        worker: cache,
        workerNoStore: cacheNoStore,
        proxy,
        proxyEdge,
        proxyEdgeNoStore,
        cacheOnly,
        s3,
        dir,
        narinfos: missNarinfos,
      });
    }
    await Promise.all([cacheOnly.stop(), proxyEdge?.stop(), cacheNoStore?.stop(), proxyEdgeNoStore?.stop()]);

    // --- 3. NAR streaming (and 5. nginx serving the same NAR)
    let nar;
    if (runs("nar")) {
      say("3. NAR streaming");
      nar = await benchNar({ worker: cache, proxy, proxyHash, nginx, s3, narKey, size: PROFILE.nar.bytes });
    }
    await Promise.all([proxy.stop(), proxyHash.stop()]);

    // --- 6. slow client on an edge miss
    let slow;
    if (runs("slow")) {
      say("6. slow client on an edge miss");
      slow = await benchSlow({ dir, cacheOptions, narKey: slowNarKey, size: PROFILE.slow.bytes });
    }

    const extra = await runExtra(EXTRA, extraContext);
    /** @type {Record<string, unknown>} */
    let results = {
      smoke: SMOKE,
      machine,
      profile: PROFILE,
      core: coreResults,
      hit,
      miss,
      nar,
      slow,
      ...extra,
      seconds: Math.round((Date.now() - wall) / 1000),
    };
    if (ONLY && !SMOKE) {
      // Sections not re-run keep the last full run's numbers; the report says which came from where.
      const previous = JSON.parse(await readFile(join(REPO_ROOT, "bench", "results.json"), "utf8"));
      const kept = ["core", "hit", "miss", "nar", "slow", "cost", "closure"].filter(
        (k) => !runs(k) && previous[k] !== undefined,
      );
      results = {
        ...results,
        ...Object.fromEntries(kept.map((k) => [k, previous[k]])),
        partial: { rerun: ONLY, keptFrom: previous.partial?.keptFrom ?? previous.machine.date },
      };
    }
    if (ONLY && SMOKE) {
      // A partial smoke run has nothing to merge with: print what it measured.
      process.stdout.write(JSON.stringify({ nar, slow, hit, miss, core: coreResults, ...extra }, null, 2) + "\n");
      return;
    }
    const path = SMOKE ? join(dir, "RESULTS.md") : join(REPO_ROOT, "bench", "RESULTS.md");
    const markdown = await writeResults(path, results);
    await writeFile(
      join(SMOKE ? dir : join(REPO_ROOT, "bench"), SMOKE ? "results.json" : "results.json"),
      JSON.stringify(results, null, 2) + "\n",
    );
    process.stdout.write(markdown + "\n");
    say(`done in ${results.seconds} s${SMOKE ? "" : "; wrote bench/RESULTS.md and bench/results.json"}`);
  } finally {
    await stopAll();
    if (KEEP) say(`--keep: left ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

runMain(main);
