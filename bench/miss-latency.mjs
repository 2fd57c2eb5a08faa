// Diagnostic: per-request latency of cold (edge-miss) narinfo and small-NAR requests, one at a time as Nix 2.8 fetches
// NARs, through the cache worker, the pass-through worker and the pass-through worker with a Cache API match + put
// (workers/s3-proxy.ts, EDGE_CACHE=1). Every request names a path its worker has never seen. Prints medians of the
// time to headers and to the last byte, the worker's own Server-Timing total, and each workerd process's CPU per path
// (narinfo + NAR). Requests are interleaved path by path across the workers. `npm run bench` does not run it.
// LAT_VARIANTS="name=bundle.js,…" adds other builds of the cache worker to compare (e.g. one of an earlier commit).
//
//   node bench/miss-latency.mjs [paths per worker per round] [rounds]
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { loadNarinfoLib, makeKeyPair, signedNarinfo, smallNar } from "./lib/narinfos.mjs";
import { cpuSecondsOf } from "./lib/wrk.mjs";
import { runMain, s3CacheWorkerBindings, startS3, startWorker, stopAll } from "./lib/services.mjs";
import { COMPATIBILITY_DATE, WRANGLER_ENV, bundleBenchWorker, bundleCacheWorker, median, say } from "./lib/util.mjs";

const perRound = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 3);
const BUCKET = "nix-cache-bench";

async function timed(url) {
  const t0 = performance.now();
  const r = await fetch(url);
  const head = performance.now() - t0;
  await r.arrayBuffer();
  const total = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  const st = /total;dur=(\d+)/.exec(r.headers.get("server-timing") ?? "");
  return { head, total, server: st ? Number(st[1]) : NaN, cache: r.headers.get("x-cache-status") };
}

async function main() {
  const dir = await mkdtemp(join(os.tmpdir(), "nix-edge-latency-"));
  const cacheWorker = await bundleCacheWorker(join(dir, "dist"), { env: WRANGLER_ENV, timeoutMs: 300_000 });
  await bundleBenchWorker("s3-proxy.ts", join(dir, "s3-proxy.js"));
  const lib = await loadNarinfoLib(dir);
  const keys = makeKeyPair("nix-edge-bench-1");
  const sk = lib.parseSecretKey(keys.secretKey);
  const s3 = await startS3(dir);
  try {
    await s3.client.createBucket(BUCKET);
    // Extra cache-worker bundles to compare (diagnostic): LAT_VARIANTS="name=path/to/index.js,…".
    const variants = (process.env.LAT_VARIANTS ?? "")
      .split(",")
      .filter(Boolean)
      .map((v) => v.split("="));
    const names = ["worker", "proxy", "proxyEdge", ...variants.map(([n]) => n)];
    const sets = {};
    for (const who of names) {
      sets[who] = [];
      for (let i = 0; i < perRound * rounds; i++) {
        const storePath = `/nix/store/${lib.nix32Encode(randomBytes(20))}-lat-${who}-${i}`;
        const nar = smallNar(lib);
        sets[who].push({ ...nar, ...(await signedNarinfo(lib, sk, storePath, nar)) });
      }
    }
    const all = Object.values(sets).flat();
    for (let i = 0; i < all.length; i += 16)
      await Promise.all(
        all
          .slice(i, i + 16)
          .flatMap((p) => [
            s3.client.putObject(BUCKET, p.narinfoKey, p.narinfo),
            s3.client.putObject(BUCKET, p.narKey, p.nar, "application/x-nix-nar"),
          ]),
      );
    const proxyBindings = {
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
    const workers = {
      worker: await startWorker(dir, "lat-cache", {
        scriptPath: cacheWorker,
        compatibilityDate: COMPATIBILITY_DATE,
        bindings: s3CacheWorkerBindings(s3, BUCKET, keys.publicKey),
        kvNamespaces: { DENYLIST: "denylist" },
      }),
      proxy: await startWorker(dir, "lat-proxy", {
        scriptPath: join(dir, "s3-proxy.js"),
        compatibilityDate: COMPATIBILITY_DATE,
        bindings: proxyBindings,
      }),
      proxyEdge: await startWorker(dir, "lat-proxy-edge", {
        scriptPath: join(dir, "s3-proxy.js"),
        compatibilityDate: COMPATIBILITY_DATE,
        bindings: { ...proxyBindings, EDGE_CACHE: "1" },
      }),
    };
    for (const [n, path] of variants)
      workers[n] = await startWorker(dir, `lat-${n}`, {
        scriptPath: path,
        compatibilityDate: COMPATIBILITY_DATE,
        bindings: s3CacheWorkerBindings(s3, BUCKET, keys.publicKey),
        kvNamespaces: { DENYLIST: "denylist" },
      });
    const cpu0 = Object.fromEntries(names.map((w) => [w, cpuSecondsOf(workers[w].workerdPid)]));
    // Warm-up: one request of each kind per worker (isolate start, config parse), not counted.
    const results = Object.fromEntries(names.map((w) => [w, { narinfo: [], nar: [] }]));
    // Interleaved per path (the order rotating), so that drift in the machine's load hits every worker alike.
    for (let i = 0; i < perRound * rounds; i++) {
      const k = i % names.length;
      for (const who of [...names.slice(k), ...names.slice(0, k)]) {
        const p = sets[who][i];
        const a = await timed(`${workers[who].url}/${p.narinfoKey}`);
        const b = await timed(`${workers[who].url}/${p.narKey}`);
        if (i < 3) continue;
        results[who].narinfo.push(a);
        results[who].nar.push(b);
      }
    }
    const cpu = Object.fromEntries(
      names.map((w) => [w, ((cpuSecondsOf(workers[w].workerdPid) - cpu0[w]) * 1000) / (perRound * rounds)]),
    );
    const row = (xs, k) => median(xs.map((x) => x[k])).toFixed(2);
    console.log("worker      kind     head(ms) total(ms) server-timing(ms)");
    for (const who of names)
      for (const kind of ["narinfo", "nar"])
        console.log(
          `${who.padEnd(11)} ${kind.padEnd(8)} ${row(results[who][kind], "head").padStart(8)} ` +
            `${row(results[who][kind], "total").padStart(9)} ${row(results[who][kind], "server").padStart(8)}`,
        );
    for (const who of names) console.log(`${who}: workerd CPU per path (narinfo + NAR) ${cpu[who].toFixed(2)} ms`);
    say(`cache statuses: ${[...new Set(results.worker.nar.map((x) => x.cache))]}`);
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

runMain(main);
