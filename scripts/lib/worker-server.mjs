// @ts-check
// Runs one bundled worker in workerd through Miniflare, in its own node process, so that the process driving it (a
// benchmark and its load generator, or an end-to-end test and its Nix client) never shares an event loop with the
// runtime under test. The benchmarks (bench/lib/services.mjs) and the end-to-end tests (test/e2e/harness.ts) start
// every worker with this one script; only the bundle and the bindings differ.
//
// Why not `wrangler dev`: it puts a proxy worker and its own node process in front of the worker, and a large
// response through it streams at a small fraction of the speed workerd has on its own (docs/toolchain.md).
//
//   node scripts/lib/worker-server.mjs <options.json>
//   node scripts/lib/worker-server.mjs --serve
//
// options.json: { scriptPath, port, persistRoot, compatibilityDate, compatibilityFlags?, bindings?, r2Buckets?,
//                kvNamespaces?, analyticsEngineDatasets?, inspectorPort?, cache? }
// The worker's console output (workerd's stdout and stderr) comes out on this process's stdout and stderr. Prints
// one line `READY {"url":…,"workerdPid":…}` on stdout when the worker answers, then runs until SIGTERM.
//
// With --serve it runs one worker after another, as told on stdin, one JSON command a line: `{"start":
// "<options.json>"}` starts a worker (then `READY …`), `{"stop":true}` disposes of it, its workerd gone, its port and
// state closed (then `STOPPED`). It exits when stdin ends. The end-to-end tests run a dozen short-lived workers per
// file: starting node and loading Miniflare for each cost more CPU than the workerd start itself.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { Miniflare } from "miniflare";
import { sleep } from "./processes.mjs";

/** Direct children of `pid` (Linux /proc). @param {number} pid @returns {number[]} */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** @param {number} pid */
function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * Starts one worker under Miniflare from an options file; resolves once it answers.
 * @param {string} optionsFile
 * @returns {Promise<{ mf: Miniflare, url: string, workerdPid: number | undefined }>}
 */
async function startWorker(optionsFile) {
  const options = JSON.parse(readFileSync(optionsFile, "utf8"));
  const mf = new Miniflare({
    modules: true,
    scriptPath: options.scriptPath,
    // Module names are relative to this root; the bundles live in the run's temp dir.
    modulesRoot: dirname(options.scriptPath),
    compatibilityDate: options.compatibilityDate,
    compatibilityFlags: options.compatibilityFlags ?? [],
    host: "127.0.0.1",
    port: options.port,
    bindings: options.bindings ?? {},
    r2Buckets: options.r2Buckets ?? {},
    kvNamespaces: options.kvNamespaces ?? {},
    ...(options.analyticsEngineDatasets ? { analyticsEngineDatasets: options.analyticsEngineDatasets } : {}),
    // Cache API, R2 and KV state on disk under persistRoot, in the layout `wrangler dev --persist-to DIR` keeps
    // under DIR/v3 (so its tools and ours open the same state).
    defaultPersistRoot: options.persistRoot,
    // `cache: false` only for bench/run.mjs's attribution of a miss: Miniflare's no-op Cache API (no match, nothing
    // stored), so that its cache service's storage, which production runs outside the worker, is not timed.
    cache: options.cache ?? true,
    // Only for bench/profile.mjs: the DevTools protocol, to take CPU profiles of the worker.
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  // Miniflare starts workerd as a direct child of this process (the only one: a disposed worker's workerd is gone).
  /** @type {number | undefined} */
  let workerdPid;
  for (let i = 0; i < 50 && workerdPid === undefined; i++) {
    workerdPid = childrenOf(process.pid).find((pid) => commOf(pid) === "workerd");
    if (workerdPid === undefined) await sleep(100);
  }
  return { mf, url, workerdPid };
}

/** @type {Miniflare | undefined} */
let current;

/**
 * Starts the worker of `optionsFile` as the current one and says `READY …` once it answers.
 * @param {string} optionsFile
 */
async function start(optionsFile) {
  const { mf, url, workerdPid } = await startWorker(optionsFile);
  current = mf;
  process.stdout.write(`READY ${JSON.stringify({ url, workerdPid })}\n`);
}
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await current?.dispose().catch(() => undefined);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The driver died: do not outlive it.
process.on("disconnect", stop);

const arg = process.argv[2];
if (!arg) throw new Error("usage: node scripts/lib/worker-server.mjs <options.json> | --serve");
if (arg !== "--serve") {
  await start(arg);
} else {
  // Commands one at a time, in order.
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("close", stop);
  for await (const line of lines) {
    if (!line.trim()) continue;
    const command = JSON.parse(line);
    if (command.start) {
      if (current) throw new Error("worker-server: start while a worker runs");
      await start(command.start);
    } else if (command.stop) {
      await current?.dispose();
      current = undefined;
      process.stdout.write("STOPPED\n");
    } else {
      throw new Error(`worker-server: unknown command ${line}`);
    }
  }
}
