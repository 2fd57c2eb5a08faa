// Small helpers shared by the benchmark scripts: processes, ports, /proc sampling, statistics.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WRANGLER_ENV as QUIET_WRANGLER } from "../../scripts/wrangler-env.mjs";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The cache worker's compatibility_date (wrangler.toml); every benchmark worker runs with it. */
export const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(REPO_ROOT, "wrangler.toml"), "utf8"))[1];

export const WRANGLER_ENV = { ...QUIET_WRANGLER, NO_COLOR: "1", FORCE_COLOR: "0" };

/** Runs a command to completion; rejects on a non-zero exit with its output. */
export function run(cmd, args, { env, cwd = REPO_ROOT, timeoutMs = 300_000, input } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (input) child.stdin.end(input);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code ?? signal}\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
    });
  });
}

export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

function portFree(port) {
  return new Promise((r) => {
    const server = net.createServer();
    server.once("error", () => r(false));
    server.listen(port, "127.0.0.1", () => server.close(() => r(true)));
  });
}

/** A base port followed by `count - 1` more free ones (the S3 server uses PORT..PORT+4). */
export async function freePortRange(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports`);
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

/** Direct children of `pid` (from /proc/<pid>/task/<pid>/children). */
export function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
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
