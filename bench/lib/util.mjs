// Small helpers shared by the benchmark scripts: /proc sampling, statistics, and (from scripts/lib/processes.mjs)
// processes and ports.
import { readFileSync } from "node:fs";
import { build } from "esbuild";
import { join } from "node:path";
import { REPO_ROOT, check } from "../../scripts/lib/processes.mjs";
import { WRANGLER_ENV as QUIET_WRANGLER } from "../../scripts/wrangler-env.mjs";

// Processes and ports: the module the end-to-end harness uses too.
export { REPO_ROOT, bundleCacheWorker, freePort, freePortRange, sleep } from "../../scripts/lib/processes.mjs";

/** The cache worker's compatibility_date (wrangler.toml); every benchmark worker runs with it. */
export const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(
  readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8"),
)[1];

export const WRANGLER_ENV = { ...QUIET_WRANGLER, NO_COLOR: "1", FORCE_COLOR: "0" };

/**
 * Runs a command to completion (at most 5 minutes by default); rejects on a non-zero exit with its output.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {import("../../scripts/lib/processes.mjs").RunOptions} [opts]
 */
export const run = (cmd, args, opts = {}) => check(cmd, args, { timeoutMs: 300_000, ...opts });

/** Runs `task` over `items`, at most `n` at a time. */
export async function pool(items, n, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** VmRSS / VmHWM of a process in bytes (Linux /proc), or undefined when it is gone. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns { idle, peak, samples }. */
export function sampleRss(pid, everyMs = 50) {
  const idle = memoryOf(pid)?.rss ?? NaN;
  let peak = idle;
  let samples = 0;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (!m) return;
    samples++;
    if (m.rss > peak) peak = m.rss;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const m = memoryOf(pid);
      if (m && m.rss > peak) peak = m.rss;
      return { idle, peak, growth: peak - idle, samples };
    },
  };
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Logs progress to stderr, so stdout stays clean. */
export function say(...parts) {
  process.stderr.write(`[bench] ${parts.join(" ")}\n`);
}

/**
 * One of bench/workers/ (`name` with its extension) bundled for workerd as every benchmark runs it: one ES module,
 * no platform shims. `alias` maps an import to a file (workers/counting.mjs wraps the bundle it is given).
 */
export async function bundleBenchWorker(name, outfile, alias = undefined) {
  await build({
    entryPoints: [join(REPO_ROOT, "bench", "workers", name)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    ...(alias ? { alias } : {}),
    outfile,
    logLevel: "error",
  });
  return outfile;
}
