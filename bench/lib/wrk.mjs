// Runs wrk (a separate process, bounded in time, loopback only) and returns its numbers, with the CPU time the
// server process used during the run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, run } from "./util.mjs";

const SCRIPT = join(REPO_ROOT, "bench", "lib", "wrk.lua");

/** utime + stime of a process in seconds (clock ticks are 100/s on Linux). */
export function cpuSecondsOf(pid) {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * opts: { url, threads, connections, seconds, paths?: file, offset?: number, expect?: "header=value", serverPid? }
 * Returns { rps, p50Ms, p90Ms, p99Ms, requests, errors, matched, mismatched, wrapped, cpuUsPerReq }.
 */
export async function wrk(opts) {
  const env = { WRK_THREADS: String(opts.threads) };
  if (opts.paths) {
    env.WRK_PATHS = opts.paths;
    env.WRK_OFFSET = String(opts.offset ?? 0);
  }
  if (opts.expect) env.WRK_EXPECT = opts.expect;
  const cpuBefore = cpuSecondsOf(opts.serverPid);
  const { stdout } = await run(
    "wrk",
    [
      "-t",
      String(opts.threads),
      "-c",
      String(opts.connections),
      "-d",
      `${opts.seconds}s`,
      "--timeout",
      "10s",
      "-s",
      SCRIPT,
      opts.url,
    ],
    { env, timeoutMs: (opts.seconds + 30) * 1000 },
  );
  const cpuAfter = cpuSecondsOf(opts.serverPid);
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const r = JSON.parse(line.slice("WRK_JSON ".length));
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  return {
    requests: r.requests,
    rps: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p90Ms: r.p90_us / 1000,
    p99Ms: r.p99_us / 1000,
    errors,
    errorDetail: r.errors,
    matched: r.matched,
    mismatched: r.mismatched,
    wrapped: r.wrapped,
    cpuUsPerReq: r.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / r.requests : NaN,
  };
}
