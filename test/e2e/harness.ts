/**
 * End-to-end harness: a real Nix client (Debian's nix-bin, Nix 2.8), the cache worker's deploy bundle in workerd
 * (Miniflare, as the benchmarks run it) or both workers under `wrangler dev`, an upstream binary cache served over
 * HTTP on loopback, the local R2 in the layout `wrangler dev --persist-to` keeps, and a real SigV4-checking S3 server
 * (scripts/s3-origin.sh, OpenStack Swift + s3api) behind a counting proxy.
 *
 * Everything runs on 127.0.0.1 with free ports and lives under one temp dir, removed at the end
 * (set E2E_KEEP=1 to keep it for debugging).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { Miniflare } from "miniflare";
import { inject } from "vitest";
import type { CacheWorkerBundle } from "./globalSetup";
import { check, freePort, freePortRange, REPO_ROOT, run, sleep, type RunResult } from "../../scripts/lib/processes.mjs";
import { contentTypeFor } from "../../scripts/lib/content-type.mjs";
import { seedR2 } from "../../scripts/seed-r2.mjs";
import { s3Client } from "../../scripts/s3-client.mjs";
import { WRANGLER_ENV as QUIET_WRANGLER } from "../../scripts/wrangler-env.mjs";

/**
 * NAR_BUCKET's R2 bucket name in wrangler.toml's top level (the local demo): as test/e2e/globalSetup.ts read it, or,
 * in a project without that setup (the browser test seeds R2 for its `wrangler dev`), read the same way here.
 */
async function r2Bucket(): Promise<string> {
  const bundle: Pick<CacheWorkerBundle, "r2Buckets"> =
    inject("cacheWorker") ?? (await import("./globalSetup")).demoBindings(join(REPO_ROOT, "wrangler.toml"));
  const binding = bundle.r2Buckets.NAR_BUCKET;
  const name = typeof binding === "string" ? binding : (binding as { id?: unknown } | undefined)?.id;
  if (typeof name !== "string") throw new Error(`wrangler.toml: no NAR_BUCKET R2 bucket (${JSON.stringify(binding)})`);
  return name;
}
const NIX_FEATURES = ["--extra-experimental-features", "nix-command"];

// ---------------------------------------------------------------------------------------------------------------
// processes and ports: scripts/lib/processes.mjs, shared with the benchmarks

export { check, freePort, freePortRange, REPO_ROOT, run, sleep, type RunResult } from "../../scripts/lib/processes.mjs";

/** Fails (never skips) when a tool the suite needs is missing. */
export async function requireTool(cmd: string, args: string[], install: string): Promise<string> {
  let r: RunResult;
  try {
    r = await run(cmd, args, { timeoutMs: 20_000 });
  } catch {
    throw new Error(`e2e: "${cmd}" is not installed. Install it with: ${install}`);
  }
  if (r.code !== 0)
    throw new Error(`e2e: "${cmd} ${args.join(" ")}" failed (${r.code}): ${r.stderr}. Install: ${install}`);
  return r.stdout.trim();
}

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "nix-edge-e2e-"));
}

export async function removeDir(dir: string): Promise<void> {
  if (process.env.E2E_KEEP) {
    console.log(`[e2e] E2E_KEEP set: keeping ${dir}`);
    return;
  }
  await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// the closure, built by a real Nix

export interface CachePath {
  /** Short role in the closure: dep, big, tool, app. */
  role: string;
  storePath: string;
  /** The 32-char hash part: the narinfo is `<hashPart>.narinfo`. */
  hashPart: string;
  narinfoKey: string;
  /** The narinfo's URL, e.g. `nar/<nix32>.nar.zst`: the NAR's key in the cache. */
  narKey: string;
  compression: string;
  fileSize: number;
  narSize: number;
  narinfoText: string;
}

export interface Closure {
  salt: string;
  /** Dependencies first: dep, big, tool (`e2e-c++-tool`), app. */
  paths: CachePath[];
  byRole: Record<"dep" | "big" | "tool" | "app", CachePath>;
  drvs: string[];
  /** Size of the big path's one file, in MiB. */
  bigMiB: number;
  /** The binary cache written by `nix copy --to file://…` (big path zstd, the others xz). */
  cacheDir: string;
  publicKey: string;
  secretKeyFile: string;
}

// Derivations with builder /bin/sh and no nixpkgs. `salt` makes every run's store paths new, so they never collide
// with the fixture/demo paths or a previous run. The big path is `bigMiB` MiB of random bytes (zstd cannot shrink it).
const CLOSURE_NIX = `{ salt, bigMiB }:
let
  mk = name: script: extra: builtins.derivation ({
    inherit name salt;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
  } // extra);
  dep = mk "e2e-dep" ''printf 'e2e dependency %s\\n' "$salt" > "$out"'' {};
  big = mk "e2e-big" ''/bin/dd if=/dev/urandom of="$out" bs=1048576 count=\${bigMiB} status=none'' {};
  tool = mk "e2e-c++-tool" ''printf '#!/bin/sh\\n# %s\\ncat %s\\n' "$salt" "$dep" > "$out"'' { inherit dep; };
  app = mk "e2e-app"
    (''/bin/mkdir -p "$out/bin" && ''
      + ''printf '#!/bin/sh\\n# %s\\n/bin/sh %s\\ncat %s\\nwc -c < %s\\n' ''
      + ''"$salt" "$tool" "$dep" "$big" > "$out/bin/e2e-app" && ''
      + ''/bin/chmod +x "$out/bin/e2e-app" && /bin/ln -s "$dep" "$out/dep"'')
    { inherit dep tool big; };
in { inherit dep big tool app; }
`;

const ROLES = ["dep", "big", "tool", "app"] as const;

function narinfoField(text: string, field: string): string {
  const m = new RegExp(`^${field}: (.*)$`, "m").exec(text);
  if (!m) throw new Error(`narinfo has no ${field}:\n${text}`);
  return m[1]!;
}

/**
 * Builds, signs and `nix copy`s a new closure. `bigMiB` sizes the big path: over 100 MB where issue 2's closure is
 * proven, 20 MiB where only being above every in-memory bound matters (the 16 MiB cap of verify-before-send and the
 * pump's 8 MiB window, docs/request-flow.md), since each pass through the worker costs CPU in proportion.
 */
export async function buildClosure(workDir: string, bigMiB: number): Promise<Closure> {
  const salt = randomBytes(12).toString("hex");
  await mkdir(workDir, { recursive: true });
  const nixFile = join(workDir, "closure.nix");
  await writeFile(nixFile, CLOSURE_NIX);
  const built = await check(
    "nix-build",
    [
      nixFile,
      "--argstr",
      "salt",
      salt,
      "--argstr",
      "bigMiB",
      String(bigMiB),
      ...ROLES.flatMap((r) => ["-A", r]),
      "--no-out-link",
      // Built by root in-process, unsandboxed: no build users needed, so a machine without the `nixbld` group
      // (Nix's default build-users-group) still builds.
      "--option",
      "substituters",
      "",
      "--option",
      "sandbox",
      "false",
      "--option",
      "build-users-group",
      "",
    ],
    { timeoutMs: 120_000 },
  );
  const outPaths = built.stdout
    .trim()
    .split("\n")
    .map((l) => l.trim());
  if (outPaths.length !== ROLES.length || !outPaths.every((p) => p.startsWith("/nix/store/"))) {
    throw new Error(`unexpected nix-build output:\n${built.stdout}\n${built.stderr}`);
  }
  const drvs: string[] = [];
  for (const p of outPaths) drvs.push((await check("nix-store", ["-q", "--deriver", p])).stdout.trim());

  const secretKeyFile = join(workDir, "e2e.sk");
  const publicKeyFile = join(workDir, "e2e.pk");
  await check("nix-store", [
    "--generate-binary-cache-key",
    `nix-edge-e2e-${salt.slice(0, 8)}-1`,
    secretKeyFile,
    publicKeyFile,
  ]);
  const publicKey = (await readFile(publicKeyFile, "utf8")).trim();
  await check("nix", [...NIX_FEATURES, "store", "sign", "--key-file", secretKeyFile, ...outPaths]);

  // One cache dir, two compressions: zstd for the big path (xz on 100 MB takes minutes), xz for the small ones.
  // `nix copy` skips paths whose narinfo exists, so the second copy only adds the small paths.
  const cacheDir = join(workDir, "cache");
  const bigPath = outPaths[1]!;
  await check("nix", [...NIX_FEATURES, "copy", "--to", `file://${cacheDir}?compression=zstd`, bigPath], {
    timeoutMs: 120_000,
  });
  await check("nix", [...NIX_FEATURES, "copy", "--to", `file://${cacheDir}?compression=xz`, ...outPaths], {
    timeoutMs: 120_000,
  });
  // Empty dirs a file:// store creates; they would only be noise in R2/S3 listings.
  for (const d of ["log", "realisations"]) await rm(join(cacheDir, d), { recursive: true, force: true });

  const paths: CachePath[] = [];
  for (const [i, storePath] of outPaths.entries()) {
    const hashPart = storePath.slice("/nix/store/".length, "/nix/store/".length + 32);
    const narinfoKey = `${hashPart}.narinfo`;
    const narinfoText = await readFile(join(cacheDir, narinfoKey), "utf8");
    paths.push({
      role: ROLES[i]!,
      storePath,
      hashPart,
      narinfoKey,
      narKey: narinfoField(narinfoText, "URL"),
      compression: narinfoField(narinfoText, "Compression"),
      fileSize: Number(narinfoField(narinfoText, "FileSize")),
      narSize: Number(narinfoField(narinfoText, "NarSize")),
      narinfoText,
    });
  }
  const byRole = Object.fromEntries(paths.map((p) => [p.role, p])) as Closure["byRole"];
  return { salt, paths, byRole, drvs, bigMiB, cacheDir, publicKey, secretKeyFile };
}

// ---------------------------------------------------------------------------------------------------------------
// the Nix client

export async function isValidPath(storePath: string): Promise<boolean> {
  return (await run("nix-store", ["--check-validity", storePath])).code === 0;
}

/** Which of `storePaths` are valid, in one `nix-store` call (each call costs a Nix start and a database open). */
export async function validPaths(storePaths: readonly string[]): Promise<Set<string>> {
  if (storePaths.length === 0) return new Set();
  const r = await check("nix-store", ["--check-validity", "--print-invalid", ...storePaths]);
  const invalid = new Set(r.stdout.split("\n").filter(Boolean));
  return new Set(storePaths.filter((p) => !invalid.has(p)));
}

/**
 * Deletes store paths (one `nix-store --delete` for all of them: Nix deletes referrers in the set before what they
 * refer to) and fails unless every one is invalid afterwards.
 */
export async function deletePaths(storePaths: readonly string[]): Promise<void> {
  const valid = await validPaths(storePaths);
  if (valid.size === 0) return;
  await check("nix-store", ["--delete", ...valid], { timeoutMs: 60_000 });
  const left = await validPaths([...valid]);
  if (left.size > 0) throw new Error(`nix-store --delete left ${[...left].join(" ")} valid`);
}

export interface NixClient {
  /** `nix-store -r` through `cacheUrl`, with a fresh client cache (~/.cache/nix) and no narinfo caching. */
  substitute(paths: readonly string[], cacheUrl: string, extraOptions?: Record<string, string>): Promise<RunResult>;
  verify(paths: readonly string[]): Promise<RunResult>;
}

export function nixClient(publicKey: string, homeDir: string): NixClient {
  const cacheHome = join(homeDir, "xdg-cache");
  return {
    async substitute(paths, cacheUrl, extraOptions = {}) {
      // Nix remembers narinfo answers per cache URL in $XDG_CACHE_HOME/nix; start every substitution clean.
      await rm(cacheHome, { recursive: true, force: true });
      const options: Record<string, string> = {
        substituters: cacheUrl,
        "trusted-public-keys": publicKey,
        "narinfo-cache-negative-ttl": "0",
        "narinfo-cache-positive-ttl": "0",
        "connect-timeout": "5",
        ...extraOptions,
      };
      return run("nix-store", ["-r", ...paths, ...Object.entries(options).flatMap(([k, v]) => ["--option", k, v])], {
        env: { XDG_CACHE_HOME: cacheHome },
        timeoutMs: 180_000,
      });
    },
    verify(paths) {
      return run("nix-store", ["--verify-path", ...paths], { timeoutMs: 120_000 });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// loopback HTTP: an upstream cache, a counting proxy for S3, a raw client

export interface RequestRecord {
  method: string;
  /** Path as received, without query. */
  path: string;
  status: number;
  range?: string;
  /** First bytes of an error body (S3's XML error), for diagnostics. */
  errorBody?: string;
}

export interface CountingServer {
  url: string;
  port: number;
  requests: RequestRecord[];
  /** Requests whose path ends with `/<key>` (after URL-decoding). */
  countFor(key: string, method?: string): number;
  close(): Promise<void>;
}

function pathOf(rawUrl: string): string {
  return new URL(rawUrl, "http://x").pathname;
}

function endsWithKey(path: string, key: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // keep raw
  }
  return decoded === `/${key}` || decoded.endsWith(`/${key}`);
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolvePromise((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolvePromise) => {
    server.closeAllConnections();
    server.close(() => resolvePromise());
  });
}

function counting(server: http.Server, port: number, requests: RequestRecord[]): CountingServer {
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    countFor: (key, method) =>
      requests.filter((r) => endsWithKey(r.path, key) && (!method || r.method === method)).length,
    close: () => closeServer(server),
  };
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against `size`: the inclusive range, "unsatisfiable", or null (ignore). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

/** Ways a test makes the static server misbehave (fault injection). */
export interface Misbehaviour {
  /** Answer every Range request with 200 and the whole file, as plain HTTP servers without range support do. */
  ignoreRange?: boolean;
  /** For these keys, the first GET sends this many bytes of the body and then drops the connection. */
  cutFirstGet?: Map<string, number>;
}

/**
 * A binary cache over HTTP, like a plain nginx in front of `nix copy --to file://DIR`: GET/HEAD, Range (206/416),
 * 404. `root()` can be switched to serve another directory (a tampered copy); `misbehave` injects faults.
 */
export async function startStaticServer(
  initialRoot: string,
  misbehave: Misbehaviour = {},
): Promise<CountingServer & { setRoot(dir: string): void }> {
  let root = initialRoot;
  const requests: RequestRecord[] = [];
  const server = http.createServer(async (req, res) => {
    const record: RequestRecord = {
      method: req.method ?? "?",
      path: pathOf(req.url ?? "/"),
      status: 0,
      range: req.headers.range,
    };
    requests.push(record);
    const reply = (status: number, headers: Record<string, string | number> = {}, body?: string) => {
      record.status = status;
      res.writeHead(status, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, { allow: "GET, HEAD" });
    let rel: string;
    try {
      rel = decodeURIComponent(record.path).replace(/^\/+/, "");
    } catch {
      return reply(400);
    }
    const file = resolve(root, rel);
    if (!file.startsWith(resolve(root) + sep)) return reply(404, {}, "Not Found\n");
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) return reply(404, {}, "Not Found\n");
      size = st.size;
    } catch {
      return reply(404, { "content-type": "text/plain" }, "Not Found\n");
    }
    const base = { "content-type": String(contentTypeFor(rel)), "accept-ranges": "bytes" };
    const range = misbehave.ignoreRange ? null : parseRange(req.headers.range, size);
    if (range === "unsatisfiable") return reply(416, { ...base, "content-range": `bytes */${size}` });
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    const headers: Record<string, string | number> = { ...base, "content-length": end - start + 1 };
    if (range) headers["content-range"] = `bytes ${start}-${end}/${size}`;
    record.status = range ? 206 : 200;
    res.writeHead(record.status, headers);
    if (req.method === "HEAD" || size === 0) return res.end();
    const cutAt = misbehave.cutFirstGet?.get(rel);
    if (cutAt !== undefined) {
      misbehave.cutFirstGet!.delete(rel);
      createReadStream(file, { start, end: start + cutAt - 1 })
        .on("error", () => res.destroy())
        .on("end", () => res.destroy())
        .pipe(res, { end: false });
      return;
    }
    createReadStream(file, { start, end })
      .on("error", () => res.destroy())
      .pipe(res);
  });
  const port = await listen(server);
  return { ...counting(server, port, requests), setRoot: (dir: string) => (root = dir) };
}

/**
 * A transparent proxy that counts what reaches S3. The Host header goes through exactly as received, so the SigV4
 * signature the worker made for the proxy's host:port still verifies at the S3 server.
 */
export async function startCountingProxy(targetPort: number): Promise<CountingServer> {
  const requests: RequestRecord[] = [];
  const server = http.createServer((req, res) => {
    const record: RequestRecord = {
      method: req.method ?? "?",
      path: pathOf(req.url ?? "/"),
      status: 0,
      range: req.headers.range,
    };
    requests.push(record);
    const upstream = http.request(
      { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        record.status = upRes.statusCode ?? 0;
        if (record.status >= 400) {
          let snippet = "";
          upRes.on("data", (d: Buffer) => {
            if (snippet.length < 2000) snippet += d.toString();
          });
          upRes.on("end", () => (record.errorBody = snippet.slice(0, 2000)));
        }
        res.writeHead(record.status, upRes.headers);
        upRes.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      record.status = 599;
      record.errorBody = String(e);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const port = await listen(server);
  return counting(server, port, requests);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection ended before the whole body (Content-Length) arrived. */
  complete: boolean;
  error?: string;
}

/** A curl-like request: no Accept-Encoding, no decoding, and a body cut short is reported, not hidden. */
export function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      url,
      { method: init.method ?? "GET", headers: { "user-agent": "nix-edge-e2e", ...init.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        let error: string | undefined;
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("aborted", () => (error ??= "aborted"));
        res.on("error", (e) => (error ??= String(e)));
        res.on("close", () =>
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            complete: res.complete && !error,
            error,
          }),
        );
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// workers: the cache worker under Miniflare (startWorker), both workers under `wrangler dev` (startDevWorkers)

export interface LogEvent {
  level?: string;
  event?: string;
  [field: string]: unknown;
}

export interface WorkerHandle {
  url: string;
  port: number;
  persistTo: string;
  /** Everything the worker's process printed (stdout and stderr), the worker's console lines included. */
  output(): string;
  /** The worker's JSON log lines. */
  events(): LogEvent[];
  waitForEvents(predicate: (events: LogEvent[]) => boolean, timeoutMs?: number): Promise<LogEvent[]>;
  stop(): Promise<void>;
}

export const WRANGLER_ENV = { ...QUIET_WRANGLER, NO_COLOR: "1", FORCE_COLOR: "0", CI: "1" };

/**
 * wrangler dev registers every worker it runs by name in a machine-wide registry (~/.config/.wrangler/registry),
 * through which other dev sessions reach it, and removes the entry when it stops. The tests' workers are named as
 * the real ones (nix-cache-edge, nix-cache-admin), like a running `npm start`, and the e2e files run side by side:
 * every `wrangler dev` of the tests gets a registry of its own under its temp dir (removed with it), so no dev
 * session ever resolves or removes another's worker.
 */
export function devRegistryEnv(dir: string): Record<string, string> {
  const registry = join(dir, "dev-registry");
  return { WRANGLER_REGISTRY_PATH: registry, MINIFLARE_REGISTRY_PATH: registry };
}

const running = new Set<ChildProcess>();

function parseEvents(text: string): LogEvent[] {
  const events: LogEvent[] = [];
  // wrangler wraps console.warn/error lines in a coloured "▲ [WARNING]" / "✘ [ERROR]" frame, colours included.
  // eslint-disable-next-line no-control-regex
  for (const line of text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").split("\n")) {
    const at = line.indexOf('{"level":');
    const end = line.lastIndexOf("}");
    if (at < 0 || end < at) continue;
    try {
      events.push(JSON.parse(line.slice(at, end + 1)) as LogEvent);
    } catch {
      // a line that only looks like one of ours
    }
  }
  return events;
}

/** Kills a process group (the worker's node process and the workerd it started), then waits for the leader. */
async function killGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited = new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
  );
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
  // workerd may outlive wrangler for a moment; the group kill reaches it either way.
  signal("SIGKILL");
  if (timedOut) await Promise.race([exited, sleep(2_000)]);
  running.delete(child);
}

/** Stops every cache worker `startWorker` started that is still running, and their servers (for afterAll). */
export async function stopAllWorkers(): Promise<void> {
  idleServers.length = 0;
  await Promise.all([...running].map(killGroup));
}

/**
 * A node process running scripts/lib/worker-server.mjs --serve: one cache worker after another, each its own
 * workerd (own port, own state), so a file's dozen workers cost one node start and one Miniflare load, not a dozen.
 */
interface WorkerServer {
  child: ChildProcess;
  /** Everything it printed (stdout and stderr), every worker it ran included. */
  out: string;
}

/** Servers whose worker was stopped, ready for the next `startWorker` of this file. */
const idleServers: WorkerServer[] = [];

function spawnWorkerServer(): WorkerServer {
  const child = spawn(process.execPath, [join(REPO_ROOT, "scripts", "lib", "worker-server.mjs"), "--serve"], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...WRANGLER_ENV },
    stdio: ["pipe", "pipe", "pipe"],
    // Its own process group, so a kill reaches workerd too.
    detached: true,
  });
  running.add(child);
  const server: WorkerServer = { child, out: "" };
  const append = (d: Buffer) => {
    server.out += d.toString();
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  // A server that died is never reused (its stdin may be closed already).
  child.stdin!.on("error", () => undefined);
  return server;
}

/** Waits until `pattern` matches what `server` printed after `from`; fails when it exits or after `timeoutMs`. */
async function awaitOutput(server: WorkerServer, from: number, pattern: RegExp, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(server.out.slice(from));
    if (m) return from + m.index + m[0].length;
    const { exitCode, signalCode } = server.child;
    if (exitCode !== null || signalCode !== null) {
      running.delete(server.child);
      throw new Error(`the cache worker's server exited (${exitCode ?? signalCode}):\n${server.out.slice(from)}`);
    }
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${timeoutMs / 1000} s:\n${server.out.slice(from)}`);
    await sleep(50);
  }
}

/**
 * Starts the cache worker on a port of its own: the deploy bundle (built once per test run, test/e2e/globalSetup.ts)
 * with the bindings of wrangler.toml's top level (the local demo), `vars` over them, served by Miniflare (a workerd of
 * its own) from a node process that runs one worker at a time (scripts/lib/worker-server.mjs --serve, the script the
 * benchmarks run), its state under `persistTo/v3`, where `wrangler dev --persist-to persistTo` keeps it (the R2 and
 * edge-cache helpers below open it there). `stop()` disposes of the worker (its workerd exits, so its port and state
 * are closed) and keeps the node process for this file's next worker. Not through `wrangler dev`: its proxy streams
 * a 100 MiB NAR ten to twenty times slower than workerd alone (docs/toolchain.md), which made the e2e files' wall
 * time; `wrangler dev` runs in admin.e2e.test.ts, the browser test and `npm start`. Resolves once /nix-cache-info
 * answers 200.
 */
export async function startWorker(opts: {
  persistTo: string;
  vars: Record<string, string>;
  logFile?: string;
}): Promise<WorkerHandle> {
  const bundle = inject("cacheWorker");
  if (!bundle) throw new Error("startWorker needs the e2e project's globalSetup (test/e2e/globalSetup.ts)");
  await mkdir(opts.persistTo, { recursive: true });
  // Port 0: workerd binds a free port itself and READY names it. (A port found free and then bound by workerd could
  // be taken in between by any other process; it was, once in a run.)
  const optionsFile = join(opts.persistTo, `worker-server-${++workerStarts}.json`);
  await writeFile(
    optionsFile,
    JSON.stringify({
      ...bundle,
      bindings: { ...bundle.bindings, ...opts.vars },
      port: 0,
      persistRoot: join(opts.persistTo, "v3"),
    }),
  );
  const server = idleServers.pop() ?? spawnWorkerServer();
  const from = server.out.length;
  /** Where this worker's output ends in its server's (set once it is stopped). */
  let until: number | undefined;
  const out = () => server.out.slice(from, until);
  recordOutput(`cache worker ${workerStarts} (${opts.persistTo})`, out);
  server.child.stdin!.write(`${JSON.stringify({ start: optionsFile })}\n`);
  let ready: { url: string };
  try {
    const end = await awaitOutput(server, from, /^READY .*$/m, 120_000);
    const line = server.out
      .slice(from, end)
      .split("\n")
      .findLast((l) => l.startsWith("READY "))!;
    ready = JSON.parse(line.slice("READY ".length));
  } catch (e) {
    await killGroup(server.child);
    until = server.out.length;
    throw new Error(`the cache worker did not start: ${(e as Error).message}`);
  }
  const url = new URL(ready.url);
  let stopped = false;
  const handle: WorkerHandle = {
    url: url.origin,
    port: Number(url.port),
    persistTo: opts.persistTo,
    output: out,
    events: () => parseEvents(out()),
    async waitForEvents(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const events = parseEvents(out());
        if (predicate(events)) return events;
        if (Date.now() > deadline) return events;
        await sleep(200);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        server.child.stdin!.write(`${JSON.stringify({ stop: true })}\n`);
        until = await awaitOutput(server, from, /^STOPPED$/m, 30_000);
        idleServers.push(server);
      } catch {
        // Not reusable: kill it (and its workerd) instead.
        await killGroup(server.child);
        until = server.out.length;
      }
      if (opts.logFile) await writeFile(opts.logFile, out());
    },
  };
  const r = await rawRequest(`${handle.url}/nix-cache-info`);
  if (r.status !== 200) {
    await handle.stop();
    throw new Error(`/nix-cache-info answered ${r.status}: ${r.body.toString()}\n${out()}`);
  }
  return handle;
}

/** Numbers the workers `startWorker` starts (their options files and output names). */
let workerStarts = 0;

/**
 * Output of every process the e2e tests start and keep running (the workers), by name. test/e2e/setup.ts prints
 * what each printed during a test when that test fails; a passing test prints nothing.
 */
const outputs = new Map<string, () => string>();

export function recordOutput(name: string, text: () => string): void {
  outputs.set(name, text);
}

/** How much each recorded process had printed so far. */
export function outputMarks(): Map<string, number> {
  return new Map([...outputs].map(([name, text]) => [name, text().length]));
}

/** What each recorded process printed since `marks` (its last `lines` lines), as one report. */
export function outputSince(marks: Map<string, number>, lines = 80): string {
  const parts: string[] = [];
  for (const [name, text] of outputs) {
    const added = text().slice(marks.get(name) ?? 0);
    if (added.trim()) parts.push(`--- ${name} (last ${lines} lines during this test)\n${tail(added, lines)}`);
  }
  return parts.join("\n");
}

/** Tail of the worker's output for assertion messages. */
export function tail(text: string, lines = 60): string {
  return text.split("\n").slice(-lines).join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// R2 (Miniflare's persistence, as `wrangler dev --persist-to` uses it)

export async function seedR2From(persistTo: string, cacheDir: string): Promise<string[]> {
  return seedR2({ persistTo, bucket: await r2Bucket(), cacheDir });
}

/** Opens the local R2 bucket under `persistTo` (the worker need not be running) for `use`. */
async function withR2<T>(
  persistTo: string,
  use: (r2: Awaited<ReturnType<Miniflare["getR2Bucket"]>>) => Promise<T>,
): Promise<T> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    defaultPersistRoot: join(persistTo, "v3"),
    r2Buckets: { BUCKET: await r2Bucket() },
  });
  try {
    return await use(await mf.getR2Bucket("BUCKET"));
  } finally {
    await mf.dispose();
  }
}

export async function listR2(persistTo: string): Promise<string[]> {
  return withR2(persistTo, async (r2) => {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await r2.list({ cursor });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys;
  });
}

/**
 * Stores objects with the given HTTP metadata (e.g. `contentEncoding`), as `wrangler r2 object put` would; all in one
 * Miniflare (each costs a workerd start). For small objects: a large body is slow through Miniflare's node-side
 * R2 proxy (scripts/seed-r2.mjs).
 */
export async function putR2(
  persistTo: string,
  objects: { key: string; body: Uint8Array; httpMetadata: { contentType?: string; contentEncoding?: string } }[],
): Promise<void> {
  await withR2(persistTo, async (r2) => {
    // A copy: Miniflare wants a plain Uint8Array, not a Buffer over a shared pool.
    for (const o of objects) await r2.put(o.key, new Uint8Array(o.body), { httpMetadata: o.httpMetadata });
  });
}

/** Drops the worker's local Cache API state (the "edge cache"), keeping R2. */
export async function clearEdgeCache(persistTo: string): Promise<void> {
  await rm(join(persistTo, "v3", "cache"), { recursive: true, force: true });
}

/** A copy of a cache dir with only some paths' narinfos and NARs (plus nix-cache-info). */
export async function subsetCache(closure: Closure, roles: readonly string[], dir: string): Promise<void> {
  await mkdir(join(dir, "nar"), { recursive: true });
  await writeFile(join(dir, "nix-cache-info"), await readFile(join(closure.cacheDir, "nix-cache-info")));
  for (const p of closure.paths.filter((p) => roles.includes(p.role))) {
    await writeFile(join(dir, p.narinfoKey), p.narinfoText);
    await writeFile(join(dir, p.narKey), await readFile(join(closure.cacheDir, p.narKey)));
  }
}

export async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// the S3 server (scripts/s3-origin.sh)

export const S3_CREDENTIALS = { accessKeyId: "test:tester", secretAccessKey: "testing", region: "us-east-1" };

export interface S3Server {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the Swift S3 server on five consecutive free ports. Ports are found free, then taken by other processes
 * (memcached, Swift's servers): another test starting a server in between can take one first. That race, and only
 * it ("Address already in use"), is retried on fresh ports with a fresh state dir.
 */
export async function startS3(stateDir: string): Promise<S3Server> {
  const script = join(REPO_ROOT, "scripts", "s3-origin.sh");
  for (let attempt = 1; ; attempt++) {
    const port = await freePortRange(5);
    const env = {
      S3_ORIGIN_DIR: attempt === 1 ? stateDir : `${stateDir}-retry${attempt}`,
      S3_ORIGIN_PORT: String(port),
    };
    const started = await run("bash", [script, "start"], { env, timeoutMs: 90_000 });
    if (started.code === 0) {
      return {
        endpoint: `http://127.0.0.1:${port}`,
        port,
        async stop() {
          await run("bash", [script, "stop"], { env, timeoutMs: 60_000 });
        },
      };
    }
    await run("bash", [script, "stop"], { env, timeoutMs: 30_000 }).catch(() => undefined);
    const raced = /Address already in use/.test(started.stdout + started.stderr);
    if (raced && attempt < 3) continue;
    throw new Error(
      `e2e: the S3 server did not start (scripts/s3-origin.sh start exited ${started.code}). CI installs it with ` +
        `"apt-get install -y --no-install-recommends ` +
        `swift swift-proxy swift-account swift-container swift-object memcached".\n` +
        `${started.stdout}\n${started.stderr}`,
    );
  }
}

export function s3For(endpoint: string, secretAccessKey = S3_CREDENTIALS.secretAccessKey) {
  return s3Client({
    endpoint,
    accessKeyId: S3_CREDENTIALS.accessKeyId,
    secretAccessKey,
    region: S3_CREDENTIALS.region,
  });
}

/**
 * Copies of both workers' configs for one `wrangler dev` run from `dir`, with entry points and migrations made
 * absolute so that a `.dev.vars` (test tokens) can sit beside the admin's copy. The cache worker's copy re-reads the
 * denylist on every request, so each block is seen at once (the refresh interval itself is proven inside workerd,
 * test/admin/denylist.test.ts), and lives in its own directory so that the admin's `.dev.vars` is not its.
 */
export async function writeWorkerConfigs(dir: string): Promise<{ cache: string; admin: string }> {
  const admin = join(dir, "wrangler.admin.toml");
  const adminText = (await readFile(join(REPO_ROOT, "wrangler.admin.toml"), "utf8"))
    .replace(/^main = "src\/admin\/index.ts"$/m, `main = ${JSON.stringify(join(REPO_ROOT, "src/admin/index.ts"))}`)
    .replaceAll(
      'migrations_dir = "migrations/admin"',
      `migrations_dir = ${JSON.stringify(join(REPO_ROOT, "migrations/admin"))}`,
    );
  if (!adminText.includes(join(REPO_ROOT, "src/admin/index.ts")))
    throw new Error("wrangler.admin.toml: main not found");
  await writeFile(admin, adminText);
  await mkdir(join(dir, "cache"), { recursive: true });
  const cache = join(dir, "cache", "wrangler.toml");
  const cacheText = (await readFile(join(REPO_ROOT, "wrangler.toml"), "utf8"))
    .replace(/^main = "src\/index.ts"$/m, `main = ${JSON.stringify(join(REPO_ROOT, "src/index.ts"))}`)
    .replace(/^DENYLIST_REFRESH_SECONDS = "30"$/m, 'DENYLIST_REFRESH_SECONDS = "0"');
  if (!cacheText.includes('DENYLIST_REFRESH_SECONDS = "0"') || !cacheText.includes(join(REPO_ROOT, "src/index.ts"))) {
    throw new Error("wrangler.toml: main or DENYLIST_REFRESH_SECONDS not found");
  }
  await writeFile(cache, cacheText);
  return { cache, admin };
}

/** Applies the admin worker's D1 migrations (its config from writeWorkerConfigs) to the local state of `persistTo`. */
export async function applyAdminMigrations(adminConfig: string, persistTo: string): Promise<void> {
  const wrangler = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
  await check(
    process.execPath,
    [wrangler, "d1", "migrations", "apply", "nix-cache-audit", "--local", "-c", adminConfig, "--persist-to", persistTo],
    // A hang guard, not a speed target: starting wrangler alone took 33 s of a 60 s guard when the suite's heavy
    // starts (Nix builds, wrangler dev, Chromium) met on 2 loaded cores, and the guard killed it as it finished.
    { env: { ...WRANGLER_ENV }, timeoutMs: 180_000 },
  );
}

/**
 * A gateway worker for one `wrangler dev` serving both workers on one port, as one zone does in production: a
 * request goes to the admin worker when `adminWhen` (a JavaScript expression over `url`, the request's URL) holds,
 * to the cache worker otherwise. Returns the path of its config.
 */
export async function writeGateway(dir: string, name: string, adminWhen: string): Promise<string> {
  await writeFile(
    join(dir, "gateway.mjs"),
    [
      "export default {",
      "  fetch(request, env) {",
      "    const url = new URL(request.url);",
      `    return (${adminWhen} ? env.ADMIN : env.CACHE).fetch(request);`,
      "  },",
      "};",
      "",
    ].join("\n"),
  );
  const gateway = join(dir, "gateway.toml");
  await writeFile(
    gateway,
    [
      `name = ${JSON.stringify(name)}`,
      'main = "gateway.mjs"',
      'compatibility_date = "2026-04-20"',
      "services = [",
      '  { binding = "CACHE", service = "nix-cache-edge" },',
      '  { binding = "ADMIN", service = "nix-cache-admin" },',
      "]",
      "",
    ].join("\n"),
  );
  return gateway;
}

/**
 * One `wrangler dev` running several workers (multi-config: one workerd sharing local KV, R2, D1 and the Cache API),
 * with its own dev registry under `registryDir` so that no other dev session can resolve or unregister its workers.
 * Resolves once `readyUrl` answers 200; what it printed is shown with a failing test.
 */
export async function startDevWorkers(opts: {
  configs: string[];
  port: number;
  persistTo: string;
  registryDir: string;
  readyUrl: string;
}): Promise<{ stop(): Promise<void> }> {
  const inspector = await freePort();
  let output = "";
  const dev: ChildProcess = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      ...opts.configs.flatMap((c) => ["-c", c]),
      "--ip",
      "127.0.0.1",
      "--port",
      String(opts.port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      opts.persistTo,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...WRANGLER_ENV, ...devRegistryEnv(opts.registryDir) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  recordOutput(`wrangler dev (${opts.configs.length} workers) on port ${opts.port}`, () => output);
  dev.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  dev.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (!dev.pid) return;
    const exited = new Promise<void>((r) =>
      dev.exitCode !== null || dev.signalCode !== null ? r() : dev.once("exit", () => r()),
    );
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      try {
        process.kill(-dev.pid, signal);
      } catch {
        // already gone
      }
      await Promise.race([exited, sleep(5_000)]);
    }
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (dev.exitCode !== null) throw new Error(`wrangler dev exited ${dev.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev not ready after 90 s:\n${output}`);
    }
    try {
      if ((await rawRequest(opts.readyUrl)).status === 200) return { stop };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
}
