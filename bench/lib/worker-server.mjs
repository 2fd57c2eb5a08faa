// Runs one worker in workerd through Miniflare, in its own node process so that the benchmark driver and the load
// generator never share an event loop or a process with the runtime under test. Every worker of a run (ours and
// the trivial baseline) is started by this same script with the same options; only the script and bindings differ.
//
//   node bench/lib/worker-server.mjs <options.json>
//
// options.json: { scriptPath, port, persistRoot, compatibilityDate, bindings, r2Buckets, kvNamespaces,
//                analyticsEngineDatasets }
// Prints one line `READY {"url":…,"workerdPid":…}` on stdout when the worker answers, then runs until SIGTERM.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import { childrenOf, commOf, sleep } from "./util.mjs";

const options = JSON.parse(readFileSync(process.argv[2], "utf8"));
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
  // Cache API, R2 and KV state on disk under the run's temp dir, as `wrangler dev --persist-to` keeps it.
  defaultPersistRoot: options.persistRoot,
  cache: true,
  // Only for bench/profile.mjs: the DevTools protocol, to take CPU profiles of the worker.
  ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => undefined);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The driver died: do not outlive it.
process.on("disconnect", stop);

const url = (await mf.ready).toString().replace(/\/$/, "");
// Miniflare starts workerd as a direct child of this process.
let workerdPid;
for (let i = 0; i < 50 && workerdPid === undefined; i++) {
  workerdPid = childrenOf(process.pid).find((pid) => commOf(pid) === "workerd");
  if (workerdPid === undefined) await sleep(100);
}
process.stdout.write(`READY ${JSON.stringify({ url, workerdPid })}\n`);
