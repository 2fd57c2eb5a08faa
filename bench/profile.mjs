// Where the time goes: a CPU profile (DevTools protocol) of the cache worker's isolate during one scenario,
// printed as the functions with the most self time. Diagnostic only; `npm run bench` does not run it.
//
//   node bench/profile.mjs hit|miss|nar|cold [seconds] [connections]
//   node bench/profile.mjs core [seconds] [operation]
//
// `core` profiles the pure-core worker of section 4 (workers/core-bench.ts) looping one operation (default
// "parse+verify"; "verify" leaves parse out), for the functions of src/narinfo/ beside the runtime's Ed25519 call.
// Sets up like bench/run.mjs (S3 server, signed narinfos, a NAR), starts the cache worker with an inspector port,
// runs the load (wrk for hit/miss, curl for nar) while the profiler samples, prints the summary and leaves the
// .cpuprofile in the system temp dir (its path is printed) to open in Chrome DevTools. Under heavy load from other
// processes the self times smear (samples land wherever the descheduled thread stood): profile on a quiet machine.
import { createHash, randomFillSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { loadNarinfoLib, makeKeyPair, makeNarinfos, smallNar } from "./lib/narinfos.mjs";
import { runMain, s3CacheWorkerBindings, startS3, startWorker, stopAll } from "./lib/services.mjs";
import {
  COMPATIBILITY_DATE,
  WRANGLER_ENV,
  bundleBenchWorker,
  bundleCacheWorker,
  freePort,
  run,
  say,
  sleep,
} from "./lib/util.mjs";
import { wrk } from "./lib/wrk.mjs";

const scenario = process.argv[2] ?? "hit";
const seconds = Number(process.argv[3] ?? 5);
// wrk connections for hit/miss (default 32 and 8); the miss targets are at 1 (bench/RESULTS.md, section 2).
const connections = scenario === "core" || process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const coreOp = scenario === "core" ? (process.argv[4] ?? "parse+verify") : undefined;
const BUCKET = "nix-cache-bench";

function devtools(url) {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const opened = new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  return {
    opened,
    send: (method, params = {}) =>
      new Promise((r) => {
        pending.set(++id, r);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

function summarize(profile, top = 30) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((nodeId, i) => {
    const n = byId.get(nodeId);
    const f = n.callFrame;
    const file = f.url ? f.url.split("/").pop() : "";
    const key = `${f.functionName || "(anonymous)"} ${file}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    const us = dt[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `total sampled ${(total / 1000).toFixed(0)} ms`,
    ...rows.map(
      ([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    ),
  ].join("\n");
}

async function main() {
  const dir = await mkdtemp(join(os.tmpdir(), "nix-edge-profile-"));
  say(`profiling "${scenario}" in ${dir}`);
  const cacheWorker =
    scenario === "core"
      ? await bundleBenchWorker("core-bench.ts", join(dir, "core-bench.js"))
      : await bundleCacheWorker(join(dir, "dist"), { env: WRANGLER_ENV, timeoutMs: 300_000 });
  const lib = await loadNarinfoLib(dir);
  const keys = makeKeyPair("nix-edge-bench-1");
  const narinfos = await makeNarinfos(lib, keys.secretKey, scenario === "miss" ? 3000 : scenario === "cold" ? 300 : 1);
  const s3 = await startS3(dir);
  try {
    await s3.client.createBucket(BUCKET);
    for (let i = 0; i < narinfos.length; i += 16)
      await Promise.all(narinfos.slice(i, i + 16).map((n) => s3.client.putObject(BUCKET, n.key, n.text)));
    let narKey;
    // "cold": small NARs (as in section 8's closure), each asked once after its narinfo, one at a time as Nix 2.8 does.
    const cold = [];
    if (scenario === "cold") {
      for (let i = 0; i < 300; i++) {
        const { nar, narKey } = smallNar(lib);
        cold.push({ narinfo: narinfos[i].key, nar: narKey });
        await s3.client.putObject(BUCKET, narKey, nar);
      }
    }
    if (scenario === "nar") {
      const bytes = Buffer.alloc(256 * 1024 ** 2);
      randomFillSync(bytes);
      narKey = `nar/${lib.nix32Encode(createHash("sha256").update(bytes).digest())}.nar`;
      await s3.client.putObject(BUCKET, narKey, bytes);
    }
    const inspectorPort = await freePort();
    const worker = await startWorker(dir, "cache", {
      scriptPath: cacheWorker,
      compatibilityDate: COMPATIBILITY_DATE,
      inspectorPort,
      ...(scenario === "core"
        ? { bindings: { NARINFO: narinfos[0].text, PUBLIC_KEY: keys.publicKey, SECRET_KEY: keys.secretKey } }
        : { bindings: s3CacheWorkerBindings(s3, BUCKET, keys.publicKey), kvNamespaces: { DENYLIST: "denylist" } }),
    });
    const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
    const dt = devtools(targets[0].webSocketDebuggerUrl);
    await dt.opened;
    let load;
    if (scenario === "hit") {
      const url = `${worker.url}/${narinfos[0].key}`;
      await fetch(url).then((r) => r.text());
      await sleep(500);
      load = () => wrk({ url, threads: Math.min(2, connections ?? 32), connections: connections ?? 32, seconds });
    } else if (scenario === "miss") {
      const paths = join(dir, "paths");
      await writeFile(paths, narinfos.map((n) => `/${n.key}`).join("\n") + "\n");
      const c = connections ?? 8;
      load = () =>
        wrk({
          url: worker.url,
          threads: Math.min(2, c),
          connections: c,
          seconds,
          paths,
          expect: "x-cache-status=MISS",
        });
    } else if (scenario === "core") {
      load = async () => {
        const until = Date.now() + seconds * 1000;
        let n = 0;
        while (Date.now() < until) {
          const r = await fetch(`${worker.url}/?op=${encodeURIComponent(coreOp)}&n=1000`);
          if (!r.ok) throw new Error(`core ${coreOp}: HTTP ${r.status} ${await r.text()}`);
          await r.arrayBuffer();
          n += 1000;
        }
        return { op: coreOp, n };
      };
    } else if (scenario === "cold") {
      load = async () => {
        for (const p of cold)
          for (const key of [p.narinfo, p.nar]) {
            const r = await fetch(`${worker.url}/${key}`);
            await r.arrayBuffer();
            if (r.headers.get("x-cache-status") !== "MISS") throw new Error(`/${key}: not a miss`);
          }
        return { paths: cold.length };
      };
    } else {
      load = () =>
        run("curl", ["-sS", "-f", "-o", "/dev/null", "-w", "%{speed_download}\n", `${worker.url}/${narKey}`]);
    }
    await dt.send("Profiler.enable");
    await dt.send("Profiler.setSamplingInterval", { interval: 200 });
    await dt.send("Profiler.start");
    const result = await load();
    const {
      result: { profile },
    } = await dt.send("Profiler.stop");
    dt.close();
    say(`load: ${JSON.stringify("stdout" in result ? result.stdout : result)}`);
    const file = join(os.tmpdir(), `nix-edge-${scenario}-${Date.now()}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    console.log(summarize(profile));
    say(`profile: ${file}`);
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

runMain(main);
