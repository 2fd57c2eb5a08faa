/**
 * End to end for the admin worker: `wrangler dev` runs the cache worker and the admin worker together
 * (multi-config dev: one workerd, shared local KV, R2, D1 and Cache API), a real Nix client (Debian's nix-bin)
 * substitutes through the cache worker, and the admin CLI (scripts/admin-cli.mjs) drives the admin API.
 *
 * Multi-config dev exposes only its first worker on the port, so the first is a tiny gateway bound to both
 * (`/v1/*` → admin, everything else → cache), the way the two hostnames of one zone reach them in production.
 * The gateway and a copy of wrangler.admin.toml (with a .dev.vars beside it holding the test tokens' hashes) are
 * written to a temp dir. The cache is demo/ (signed by the demo key both configs trust); Nix substitutes into a
 * chroot store under the temp dir, so the machine's /nix/store is never touched.
 */
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyAdminMigrations,
  freePort,
  makeTempDir,
  rawRequest,
  removeDir,
  REPO_ROOT,
  requireTool,
  run,
  type RunResult,
  seedR2From,
  sleep,
  startDevWorkers,
  writeGateway,
  writeWorkerConfigs,
} from "./harness";

const TOKENS = { admin: "e2e-admin-token-4vK9pQ2sW7", reader: "e2e-read-token-8nM3xL6tR1" };
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

let work: string;
let persistTo: string;
let url: string;
let dev: { stop(): Promise<void> } | undefined;
let demo: { publicKey: string; paths: string[]; top: string };
const hashOf = (storePath: string) => storePath.slice("/nix/store/".length, "/nix/store/".length + 32);
/** The top path's deriver, as its narinfo in demo/cache names it. */
const TOP_DRV = "b5k5mx3zfw80ybbvpgygccs8a8cssk0h-nix-edge-cache-demo-hello.drv";

async function writeConfigs(dir: string, port: number): Promise<{ gateway: string; cache: string; admin: string }> {
  const gateway = await writeGateway(dir, "nix-cache-e2e-gateway", 'url.pathname.startsWith("/v1/")');
  const { cache, admin } = await writeWorkerConfigs(dir);
  const tokens = [
    { id: "e2e-admin", sha256: sha256(TOKENS.admin), scopes: ["purge", "block", "delete", "read"] },
    { id: "e2e-reader", sha256: sha256(TOKENS.reader), scopes: ["read"] },
  ];
  await writeFile(
    join(dir, ".dev.vars"),
    // The cache worker keys its edge cache by the request's origin (its PUBLIC_URL is empty locally).
    `ADMIN_TOKENS='${JSON.stringify(tokens)}'\nPUBLIC_URL=http://127.0.0.1:${port}\nHOOK_SECRET=e2e-hook-secret\n`,
  );
  return { gateway, cache, admin };
}

function cli(args: string[], token: string | null = TOKENS.admin, base = url): Promise<RunResult> {
  return run(process.execPath, [join(REPO_ROOT, "scripts/admin-cli.mjs"), ...args], {
    env: { NIX_CACHE_ADMIN_URL: base, NIX_CACHE_ADMIN_TOKEN: token ?? "" },
    timeoutMs: 60_000,
  });
}

let storeCount = 0;

/** `nix-store -r` into a fresh chroot store, with no client-side narinfo cache. */
async function substitute(storePath: string): Promise<{ result: RunResult; valid: boolean }> {
  storeCount += 1;
  const store = join(work, `store-${storeCount}`);
  const options = [
    "--option",
    "store",
    store,
    "--option",
    "substituters",
    url,
    "--option",
    "trusted-public-keys",
    demo.publicKey,
    "--option",
    "narinfo-cache-negative-ttl",
    "0",
    "--option",
    "narinfo-cache-positive-ttl",
    "0",
    "--option",
    "connect-timeout",
    "5",
  ];
  const env = { XDG_CACHE_HOME: join(work, `xdg-${storeCount}`) };
  const result = await run("nix-store", ["-r", storePath, ...options], { env, timeoutMs: 120_000 });
  const valid =
    (await run("nix-store", ["--check-validity", storePath, "--option", "store", store], { env })).code === 0;
  return { result, valid };
}

const status = async (path: string) => {
  const r = await rawRequest(`${url}${path}`);
  return { status: r.status, cache: r.headers["x-cache-status"] };
};

beforeAll(async () => {
  await requireTool("nix-store", ["--version"], "apt-get install -y nix-bin");
  demo = JSON.parse(await readFile(join(REPO_ROOT, "demo/demo.json"), "utf8"));
  work = await makeTempDir();
  persistTo = join(work, "state");
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const { gateway, cache, admin } = await writeConfigs(work, port);
  await applyAdminMigrations(admin, persistTo);
  // demo/cache plus a build log for the top path's derivation, so that blocks can be seen to hide logs.
  const cacheDir = join(work, "cache-content");
  await cp(join(REPO_ROOT, "demo/cache"), cacheDir, { recursive: true });
  await mkdir(join(cacheDir, "log"));
  await writeFile(join(cacheDir, "log", TOP_DRV), "building nix-edge-cache-demo-hello\n");
  await seedR2From(persistTo, cacheDir);
  dev = await startDevWorkers({
    configs: [gateway, cache, admin],
    port,
    persistTo,
    registryDir: work,
    readyUrl: `${url}/nix-cache-info`,
  });
}, 300_000);

afterAll(async () => {
  await dev?.stop();
  if (work) await removeDir(work);
});

describe("admin worker end to end (wrangler dev, Nix 2.8, admin CLI)", () => {
  it("purge: the CLI names what it purged and the next request is a MISS", async () => {
    const hash = hashOf(demo.top);
    // The first request stores the narinfo in the edge cache after answering (ctx.waitUntil): a request right
    // behind it may still miss, so wait until one hits.
    let cached = await status(`/${hash}.narinfo`);
    for (let i = 0; i < 50 && cached.cache !== "HIT"; i++) {
      await sleep(100);
      cached = await status(`/${hash}.narinfo`);
    }
    expect(cached).toEqual({ status: 200, cache: "HIT" });
    const r = await cli(["purge", demo.top]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain("purged 4 URL(s) for 1 path(s)");
    expect(r.stdout).toContain(`${url}/${hash}.narinfo`);
    expect(r.stdout).toContain("CLOUDFLARE_ZONE_ID not set");
    expect(await status(`/${hash}.narinfo`)).toEqual({ status: 200, cache: "MISS" });
  });

  it("block: the cache answers 410 at once and nix-store -r cannot substitute; unblock restores it", async () => {
    const hash = hashOf(demo.top);
    const before = await substitute(demo.top);
    expect(before.result.code, before.result.stderr).toBe(0);
    expect(before.valid).toBe(true);

    const blocked = await cli(["block", "--reason", "e2e: compromised", demo.top]);
    expect(blocked.code, blocked.stderr + blocked.stdout).toBe(0);
    expect(blocked.stdout).toContain(`denylist: path:${hash}`);
    expect((await status(`/${hash}.narinfo`)).status).toBe(410);

    const after = await substitute(demo.top);
    expect(after.result.code).not.toBe(0);
    expect(after.valid).toBe(false);
    expect(after.result.stderr).toMatch(/no substituter|don't know how to build/);

    const unblocked = await cli(["unblock", hash]);
    expect(unblocked.code, unblocked.stderr + unblocked.stdout).toBe(0);
    expect(unblocked.stdout).toContain(`unblocked ${hash} (was: "e2e: compromised" by e2e-admin`);
    expect((await status(`/${hash}.narinfo`)).status).toBe(200);
    const again = await substitute(demo.top);
    expect(again.result.code, again.result.stderr).toBe(0);
    expect(again.valid).toBe(true);
  });

  it("status and audit through the CLI with a read-only token", async () => {
    const s = await cli(["status", demo.top], TOKENS.reader);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({
      hash: hashOf(demo.top),
      blocked: null,
      signature: { valid: true, key: "nix-edge-cache-demo-1" },
    });
    const a = await cli(["audit", "--limit", "3"], TOKENS.reader);
    expect(a.code, a.stderr).toBe(0);
    const records = JSON.parse(a.stdout).records;
    expect(
      records.map((r: { action: string; actor: string; result: string }) => [r.action, r.actor, r.result]),
    ).toEqual([
      ["unblock", "e2e-admin", "ok"],
      ["block", "e2e-admin", "ok"],
      ["purge", "e2e-admin", "ok"],
    ]);
  });

  it("blocks an output and its .drv in both orders, unblocks each: narinfo, NAR and log after every step", async () => {
    const hash = hashOf(demo.top);
    const drv = `/nix/store/${TOP_DRV}`;
    const narinfo = (await rawRequest(`${url}/${hash}.narinfo`)).body.toString();
    const nar = /^URL: (.+)$/m.exec(narinfo)?.[1];
    expect(nar).toMatch(/^nar\//);
    const seen = async () => [
      (await status(`/${hash}.narinfo`)).status,
      (await status(`/${nar}`)).status,
      (await status(`/log/${TOP_DRV}`)).status,
    ];
    const ok = async (args: string[]) => {
      const r = await cli(args);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return r;
    };
    expect(await seen()).toEqual([200, 200, 200]);

    // Output first, then the .drv; unblock the output first.
    await ok(["block", "--reason", "e2e: output", demo.top]);
    expect(await seen()).toEqual([410, 410, 410]);
    await ok(["block", "--reason", "e2e: drv", drv]);
    expect(await seen()).toEqual([410, 410, 410]);
    const keep = await ok(["unblock", demo.top]);
    expect(keep.stdout).toContain(
      `still blocked: log:${TOP_DRV.slice(0, 32)} (by the block of path:${TOP_DRV.slice(0, 32)})`,
    );
    expect(await seen()).toEqual([200, 200, 410]);
    await ok(["unblock", drv]);
    expect(await seen()).toEqual([200, 200, 200]);

    // The .drv first, then the output; unblock the .drv first.
    await ok(["block", "--reason", "e2e: drv", drv]);
    expect(await seen()).toEqual([200, 200, 410]);
    await ok(["block", "--reason", "e2e: output", demo.top]);
    expect(await seen()).toEqual([410, 410, 410]);
    await ok(["unblock", drv]);
    expect(await seen()).toEqual([410, 410, 410]);
    // The .drv is no longer blocked explicitly: unblocking it again changes nothing and says why.
    const again = await cli(["unblock", drv]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(`is not blocked explicitly; it is hidden by the block of path:${hash}`);
    expect(await seen()).toEqual([410, 410, 410]);
    await ok(["unblock", demo.top]);
    expect(await seen()).toEqual([200, 200, 200]);
  });

  it("new-token refuses unknown scopes, and knows the worker's", async () => {
    const typo = await cli(["new-token", "--id", "alice", "--scopes", "purge,blok"], null);
    expect([typo.code, typo.stderr.trim()]).toEqual([
      2,
      'nix-cache-admin: --scopes: unknown scope(s) "blok"; known: purge, block, delete, read',
    ]);
    const good = await cli(["new-token", "--id", "alice", "--scopes", "purge,block"], null);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/"scopes":\["purge","block"\]/);
    // The CLI's list is the worker's (src/admin/tokens.ts).
    const source = await readFile(join(REPO_ROOT, "src/admin/tokens.ts"), "utf8");
    const workerScopes = JSON.parse(`[${/export const SCOPES = \[([^\]]*)\] as const/.exec(source)![1]}]`);
    const { SCOPES } = await import(join(REPO_ROOT, "scripts/admin-cli.mjs"));
    expect(SCOPES).toEqual(workerScopes);
  });

  it("the CLI explains 401, 403 and network errors", async () => {
    const unknown = await cli(["purge", demo.top], "not-a-token");
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      1,
      "nix-cache-admin: unauthorized (401): NIX_CACHE_ADMIN_TOKEN is missing or not a known token",
    ]);
    const missing = await cli(["purge", demo.top], null);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, "nix-cache-admin: NIX_CACHE_ADMIN_TOKEN is not set"]);
    const forbidden = await cli(["purge", demo.top], TOKENS.reader);
    expect([forbidden.code, forbidden.stderr.trim()]).toEqual([
      1,
      'nix-cache-admin: forbidden (403): token lacks the "purge" scope',
    ]);
    const port = await freePort();
    const down = await cli(["purge", demo.top], TOKENS.admin, `http://127.0.0.1:${port}`);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
    const bad = await cli(["purge", "/etc/passwd"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/error \(400\): paths\[0\] "\/etc\/passwd": path: not a store path/);
  });
});
