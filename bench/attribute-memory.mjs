// Memory attribution for bench section 6 (a slow client on an edge miss): which part of workerd's RSS growth is
// the read path's pump (src/streams/fanOut.ts) and which is the local simulators of the Cache API and R2 that
// run in the same workerd process. Each row is a fresh worker (bench/workers/fanout-sinks.ts) whose pump is fed a
// generated body, its client branch read by curl at a limited rate and each other branch written to one sink.
//
//   node bench/attribute-memory.mjs [--size=MiB] [--rate=2M] [--rows=window:sinks;...]
//
// --warm=no measures the first request of a fresh runtime, as bench section 6 does.
// Prints one line per row and a JSON array at the end; bench/RESULTS.md section 6 quotes it.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startWorker, stopAll } from "./lib/services.mjs";
import { COMPATIBILITY_DATE, bundleBenchWorker, freePort, run, sampleRss, say, sleep } from "./lib/util.mjs";

/**
 * The worker's own isolate, through the DevTools protocol: peak of its V8 heap plus ArrayBuffer backing stores
 * (Runtime.getHeapUsage), which is what our code can hold; the simulators run in other isolates of the process.
 */
async function isolateSampler(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    pending.get(msg.id)?.(msg.result ?? {});
    pending.delete(msg.id);
  });
  const send = (method) => new Promise((r) => (pending.set(++id, r), ws.send(JSON.stringify({ id, method }))));
  const usage = async () => {
    const u = await send("Runtime.getHeapUsage");
    return (u.usedSize ?? 0) + (u.backingStorageSize ?? 0);
  };
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await usage());
      await sleep(50);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      ws.close();
      return peak;
    },
  };
}

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const size = Number(arg("size", "256")) * 1024 ** 2;
const rate = arg("rate", "2M");
const warm = arg("warm", "yes") === "yes";
// window in MiB : sinks (comma-separated, "-" for none)
const rows = arg("rows", "8:-;8:discard;8:cache;8:r2;8:cache,r2;2:cache,r2;1:cache,r2")
  .split(";")
  .map((r) => {
    const [w, s] = r.split(":");
    return { windowMiB: Number(w), sinks: s === "-" ? [] : s.split(",") };
  });

const dir = await mkdtemp(join(os.tmpdir(), "nix-edge-attribution-"));
const out = [];
try {
  const scriptPath = await bundleBenchWorker("fanout-sinks.ts", join(dir, "fanout-sinks.js"));
  for (const [i, row] of rows.entries()) {
    const inspectorPort = await freePort();
    const worker = await startWorker(dir, `row-${i}`, {
      scriptPath,
      compatibilityDate: COMPATIBILITY_DATE,
      r2Buckets: { BUCKET: `row-${i}` },
      inspectorPort,
    });
    try {
      const url = (bytes) =>
        `${worker.url}/?size=${bytes}&window=${row.windowMiB * 1024 ** 2}&sinks=${row.sinks.join(",")}`;
      // Warm-up: one small request through the same sinks, so the row measures the transfer, not the runtime's
      // first-request costs (compiling the script, the simulators' first writes).
      if (warm) await run("curl", ["-sS", "-f", "-o", "/dev/null", url(4 * 1024 ** 2)]);
      await sleep(1000);
      const sampler = sampleRss(worker.workerdPid);
      const isolate = await isolateSampler(inspectorPort);
      const { stdout } = await run(
        "curl",
        [
          "-sS",
          "--limit-rate",
          rate,
          "-o",
          "/dev/null",
          "-w",
          "%{http_code} %{size_download} %{time_total}",
          url(size),
        ],
        { timeoutMs: 900_000 },
      );
      // The copies finish after the client; keep sampling until they had time to.
      await sleep(2000);
      const mem = sampler.stop();
      const isolatePeak = await isolate.stop();
      const [status, bytes, seconds] = stdout.trim().split(" ").map(Number);
      if (status !== 200 || bytes !== size)
        throw new Error(`row ${JSON.stringify(row)}: HTTP ${status}, ${bytes} of ${size}`);
      const result = {
        ...row,
        mibps: size / seconds / 1024 ** 2,
        idleMiB: mem.idle / 1024 ** 2,
        peakMiB: mem.peak / 1024 ** 2,
        growthMiB: mem.growth / 1024 ** 2,
        isolatePeakMiB: isolatePeak / 1024 ** 2,
      };
      out.push(result);
      say(
        `window ${row.windowMiB} MiB, sinks [${row.sinks.join(", ") || "none"}]: ${result.mibps.toFixed(2)} MiB/s, ` +
          `RSS ${result.idleMiB.toFixed(0)} → ${result.peakMiB.toFixed(0)} MiB (+${result.growthMiB.toFixed(1)}); ` +
          `the worker's isolate: heap + buffers peak ${result.isolatePeakMiB.toFixed(1)} MiB`,
      );
    } finally {
      await worker.stop();
    }
  }
  process.stdout.write(JSON.stringify({ size, rate, warm, rows: out }) + "\n");
} finally {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
}
