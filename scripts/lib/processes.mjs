// @ts-check
// Child processes and loopback ports for the node-side code: the end-to-end harness (test/e2e/harness.ts), the
// benchmarks (bench/lib/util.mjs) and the scripts. One module, so a fix to how a process is run or a port is
// picked reaches all of them.
import { spawn } from "node:child_process";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, ms: number }}
 *   RunResult
 * @typedef {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number, input?: string | Uint8Array }} RunOptions
 */

/**
 * Runs a command to completion without blocking the event loop (servers living in this process keep answering
 * while it runs). Never rejects for a non-zero exit (`check` does); rejects only when it cannot start. Killed with
 * SIGKILL after `timeoutMs` (default 120 s), which is noted in its stderr.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {RunOptions} [opts]
 * @returns {Promise<RunResult>}
 */
export function run(cmd, args, opts = {}) {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (/** @type {Buffer} */ d) => (stdout += d.toString()));
    child.stderr?.on("data", (/** @type {Buffer} */ d) => (stderr += d.toString()));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => {
      stderr += `\n[${cmd}] killed after ${timeoutMs} ms`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * `run`, rejecting on a non-zero exit with the command and the end of its output.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {RunOptions} [opts]
 * @returns {Promise<RunResult>}
 */
export async function check(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.code ?? r.signal}\n--- stdout\n${r.stdout.slice(-4000)}\n--- ` +
        `stderr\n${r.stderr.slice(-4000)}`,
    );
  }
  return r;
}

/**
 * The cache worker exactly as `wrangler deploy` would upload it (`wrangler deploy --dry-run --outdir`), for the
 * benchmarks and the e2e tests, which run it under Miniflare. Returns the bundle's entry module.
 * @param {string} outDir
 * @param {RunOptions} [opts] `env`: wrangler's quiet settings (scripts/wrangler-env.mjs)
 * @returns {Promise<string>}
 */
export async function bundleCacheWorker(outDir, opts = {}) {
  const wrangler = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  await check(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outDir], {
    timeoutMs: 180_000,
    ...opts,
  });
  return join(outDir, "index.js");
}

/**
 * A port on 127.0.0.1 that was free a moment ago.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolvePromise(port));
    });
  });
}

/** @param {number} port @returns {Promise<boolean>} */
function portFree(port) {
  return new Promise((resolvePromise) => {
    const server = net.createServer();
    server.once("error", () => resolvePromise(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(true)));
  });
}

/**
 * A base port with `count` consecutive free ports (the S3 server uses PORT..PORT+4).
 * @param {number} count
 * @returns {Promise<number>}
 */
export async function freePortRange(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
