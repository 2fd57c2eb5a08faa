// Section 7 of `npm run bench`: Debian's Nix (nix-bin, `nix-store -r`) substituting a closure of small paths
// through the cache worker, cold (the worker has never seen the paths: every narinfo and NAR is an edge miss to S3)
// and warm (all edge hits), against the pass-through worker (workers/s3-proxy.ts: a signed GET to S3 and nothing
// else) for the same paths. Run alone with `npm run bench -- --closure`.
//
// The closure is made here, not built: each path is one small regular file of random bytes, serialized as a NAR
// (uncompressed, `nar/<nix32 sha256>.nar`, so the worker checks its hash), with a narinfo signed by the bench key;
// one root path references all the others, so `nix-store -r <root>` substitutes them all. Every substitution goes
// into a fresh Nix store under the run's temp dir (`--store`), with a fresh client cache ($XDG_CACHE_HOME) and
// Nix's default settings otherwise, as a new client would: nothing on the machine's /nix/store is touched and
// nothing is remembered between rounds. (Nix's narinfo TTLs stay at their defaults: with a TTL of 0, Nix 2.8 fetches
// each narinfo five times per substitution, which would measure the TTL setting instead of the cache.)
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { signedNarinfo, smallNar } from "./lib/narinfos.mjs";
import { s3CacheWorkerBindings, startWorker } from "./lib/services.mjs";
import { COMPATIBILITY_DATE, median, pool, run, say, sleep } from "./lib/util.mjs";

const PROFILES = {
  smoke: { paths: 10, rounds: 1 },
  full: { paths: 200, rounds: 3 },
};

async function makeClosure(lib, secretKeyText, size, tag) {
  const sk = lib.parseSecretKey(secretKeyText);
  const paths = [];
  for (let i = 0; i < size; i++) {
    const storePath = `/nix/store/${lib.nix32Encode(randomBytes(20))}-bench-closure-${tag}-${i}`;
    paths.push({ storePath, ...smallNar(lib), narinfo: "", narinfoKey: "" });
  }
  // The root (index 0) references every path of the closure (itself excluded); the others reference nothing.
  const root = paths[0];
  for (const p of paths) {
    const refs = p === root ? paths.slice(1).map((q) => q.storePath.slice("/nix/store/".length)) : [];
    Object.assign(p, await signedNarinfo(lib, sk, p.storePath, p, refs));
  }
  return { root: root.storePath, paths };
}

export async function benchClosure({ dir, s3, bucket, cacheWorker, proxyWorker, keys, lib, smoke }) {
  const P = smoke ? PROFILES.smoke : PROFILES.full;
  // One closure per cold round (never seen by the worker) and one for the warm rounds.
  say(`closure: making ${P.rounds + 1} closures of ${P.paths} paths`);
  const closures = [];
  for (let i = 0; i <= P.rounds; i++) closures.push(await makeClosure(lib, keys.secretKey, P.paths, `${i}`));
  await s3.client.putObject(
    bucket,
    "nix-cache-info",
    "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n",
    "text/x-nix-cache-info",
  );
  await pool(
    closures.flatMap((c) => c.paths),
    16,
    async (p) => {
      await s3.client.putObject(bucket, p.narinfoKey, p.narinfo);
      await s3.client.putObject(bucket, p.narKey, p.nar, "application/x-nix-nar");
    },
  );

  // The cache worker as deployed in section 1 (S3 origin, denylist KV bound), in its own runtime and edge cache.
  const cacheOptions = {
    scriptPath: cacheWorker,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: s3CacheWorkerBindings(s3, bucket, keys.publicKey),
    kvNamespaces: { DENYLIST: "denylist" },
  };
  const worker = await startWorker(dir, "closure-cache", cacheOptions);
  const proxyBindings = {
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
  const proxy = await startWorker(dir, "closure-proxy", {
    scriptPath: proxyWorker,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: proxyBindings,
  });
  // Attribution for the cold rounds: the pass-through worker plus a Cache API match (always a miss) and a put per
  // request, the runtime's share of what any edge cache adds to a cold substitution here.
  const proxyEdge = await startWorker(dir, "closure-proxy-edge", {
    scriptPath: proxyWorker,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { ...proxyBindings, EDGE_CACHE: "1" },
  });
  // Attribution for the cold rounds: the cache worker with Miniflare's Cache API storage off (it stores nothing, so
  // each round's closure stays cold for it too): a cold substitution where the cache's storage is not in the
  // worker's process, as in production (bench/RESULTS.md, section 2).
  const workerNoStore = await startWorker(dir, "closure-cache-no-storage", { ...cacheOptions, cache: false });
  let runs = 0;
  const substitute = async (url, closure) => {
    const root = join(dir, "nix-stores", `s${runs++}`);
    await mkdir(root, { recursive: true });
    const options = {
      substituters: url,
      "trusted-public-keys": keys.publicKey,
      "build-users-group": "",
      "connect-timeout": "5",
    };
    const args = [
      "--store",
      root,
      "-r",
      closure.root,
      ...Object.entries(options).flatMap(([k, v]) => ["--option", k, v]),
    ];
    const started = process.hrtime.bigint();
    await run("nix-store", args, { env: { XDG_CACHE_HOME: join(root, "xdg-cache"), HOME: root }, timeoutMs: 600_000 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Every path of the closure is now valid in that store (Nix checked each NAR's hash as it added it).
    await run("nix-store", ["--store", root, "--check-validity", ...closure.paths.map((p) => p.storePath)], {
      timeoutMs: 120_000,
    });
    await rm(root, { recursive: true, force: true });
    return ms;
  };
  const idle = async () => {
    // The worker writes the edge cache after answering (waitUntil): give those writes time to land.
    await sleep(smoke ? 300 : 1000);
  };
  try {
    const rounds = {
      coldWorker: [],
      coldProxy: [],
      coldProxyEdge: [],
      coldWorkerNoStore: [],
      warmWorker: [],
      warmProxy: [],
    };
    const warmClosure = closures[P.rounds];
    say("closure: priming the worker's edge cache with the warm closure");
    await substitute(worker.url, warmClosure);
    await idle();
    for (const p of [warmClosure.paths[0], warmClosure.paths[1]]) {
      for (const key of [p.narinfoKey, p.narKey]) {
        const r = await fetch(`${worker.url}/${key}`);
        await r.arrayBuffer();
        if (r.headers.get("x-cache-status") !== "HIT")
          throw new Error(`closure: /${key} is ${r.headers.get("x-cache-status")} after priming, not HIT`);
      }
    }
    for (let i = 0; i < P.rounds; i++) {
      // Alternate which goes first, so neither always meets S3's warmer or colder page cache.
      const order = i % 2 === 0 ? ["worker", "proxy"] : ["proxy", "worker"];
      // Cold: the pass-through worker with a Cache API (its keys never hit) and the cache worker without the cache's
      // storage take their turns too, at places that move by round, so that none always reads S3's page cache warmed
      // by the others.
      const coldOrder = [...order];
      coldOrder.splice(i % 3, 0, "proxyEdge");
      coldOrder.splice((i + 2) % 4, 0, "workerNoStore");
      const cold = {
        worker: [worker, "coldWorker"],
        proxy: [proxy, "coldProxy"],
        proxyEdge: [proxyEdge, "coldProxyEdge"],
        workerNoStore: [workerNoStore, "coldWorkerNoStore"],
      };
      for (const who of coldOrder) rounds[cold[who][1]].push(await substitute(cold[who][0].url, closures[i]));
      await idle();
      for (const who of order) {
        const ms = await substitute(who === "worker" ? worker.url : proxy.url, warmClosure);
        rounds[who === "worker" ? "warmWorker" : "warmProxy"].push(ms);
      }
      say(
        `closure round ${i + 1}: cold worker ${rounds.coldWorker[i].toFixed(0)} ms vs proxy ` +
          `${rounds.coldProxy[i].toFixed(0)} ms; warm worker ${rounds.warmWorker[i].toFixed(0)} ms vs proxy ` +
          `${rounds.warmProxy[i].toFixed(0)} ms`,
      );
    }
    const nix = (await run("nix-store", ["--version"])).stdout.trim();
    return {
      paths: P.paths,
      rounds: P.rounds,
      nix,
      bytes: closures[0].paths.reduce((a, p) => a + p.nar.length, 0),
      ms: Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)])),
      perRound: rounds,
    };
  } finally {
    await Promise.all([worker.stop(), proxy.stop(), proxyEdge.stop(), workerNoStore.stop()]);
  }
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");

export function renderClosure(c, { smoke = false } = {}) {
  const verdict = (ok) => (smoke ? "n/a (smoke)" : ok ? "**pass**" : "**miss**");
  const warm = c.ms.warmWorker / c.ms.warmProxy;
  const cold = c.ms.coldWorker / c.ms.coldProxy;
  const coldNoStore = c.ms.coldWorkerNoStore === undefined ? undefined : c.ms.coldWorkerNoStore / c.ms.coldProxy;
  const out = [];
  out.push("## 8. Closure substitution (Debian's Nix)");
  out.push("");
  out.push(
    `\`${c.nix}\` runs \`nix-store -r\` on the root of a closure of ${c.paths} small paths ` +
      `(${f(c.bytes / c.paths / 1024, 1)} KiB NARs on average, uncompressed, each hash-checked by the worker and by ` +
      `Nix) into a fresh store, with a fresh client cache and Nix's default parallelism. Cold: a closure the worker ` +
      `has never seen (every narinfo and NAR an edge miss to S3); warm: a closure already in the worker's edge ` +
      `cache. Baseline: the pass-through worker (\`workers/s3-proxy.ts\`) for the same closures. Wall time of ` +
      `\`nix-store -r\`, median of ${c.rounds} rounds (order alternating).`,
  );
  out.push("");
  out.push(
    [
      "| closure | pass-through worker (ms) | cache worker (ms) | ratio | target | result |",
      "|---|---|---|---|---|---|",
      `| warm (edge hits) | ${f(c.ms.warmProxy, 0)} | ${f(c.ms.warmWorker, 0)} | ${f(warm)} | ≤ 1.0 | ` +
        `${verdict(warm <= 1.0)} |`,
      `| cold (edge misses to S3) | ${f(c.ms.coldProxy, 0)} | ${f(c.ms.coldWorker, 0)} | ${f(cold)} | ≤ 1.1 | ` +
        `${verdict(cold <= 1.1)} |`,
      ...(coldNoStore === undefined
        ? []
        : [
            `| cold, Cache API storage outside the worker's process | ${f(c.ms.coldProxy, 0)} | ` +
              `${f(c.ms.coldWorkerNoStore, 0)} | ${f(coldNoStore)} | ≤ 1.1 | ${verdict(coldNoStore <= 1.1)} |`,
          ]),
    ].join("\n"),
  );
  out.push("");
  const ms = (/** @type {number[]} */ xs) => xs.map((x) => f(x, 0)).join(", ");
  if (c.ms.coldProxyEdge !== undefined) {
    const edge = c.ms.coldProxyEdge / c.ms.coldProxy;
    out.push(
      `Attribution (not a target): the same cold closures through the pass-through worker plus one ` +
        `Cache API match (a miss) and one put per request (\`workers/s3-proxy.ts\` with \`EDGE_CACHE=1\`; ` +
        `its turn in each round rotates): ${f(c.ms.coldProxyEdge, 0)} ms, ${f(edge)} × the pass-through ` +
        `— the runtime's Cache API share of a cold substitution, which any edge cache pays here; the ` +
        `cache worker over it: ${f(c.ms.coldWorker / c.ms.coldProxyEdge)} ×.`,
    );
    out.push("");
  }
  if (coldNoStore !== undefined) {
    out.push(
      "The row \"cold, Cache API storage outside the worker's process\": the cache worker run with Miniflare's " +
        "`cache: false` (its turn rotates too), whose Cache API stores nothing and answers every match with a miss: " +
        "the same cold substitution without the simulator's storage, which runs in the worker's own process here " +
        "and outside the isolate on Cloudflare (section 2).",
    );
    out.push("");
  }
  out.push(
    `Per round (ms): cold worker ${ms(c.perRound.coldWorker)}; cold pass-through ${ms(c.perRound.coldProxy)};` +
      (c.perRound.coldProxyEdge ? ` cold pass-through + Cache API ${ms(c.perRound.coldProxyEdge)};` : "") +
      (c.perRound.coldWorkerNoStore
        ? ` cold worker without the cache's storage ${ms(c.perRound.coldWorkerNoStore)};`
        : "") +
      ` warm worker ${ms(c.perRound.warmWorker)}; warm pass-through ${ms(c.perRound.warmProxy)}.`,
  );
  out.push("");
  return out.join("\n");
}
