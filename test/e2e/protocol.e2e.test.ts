/**
 * End to end through `wrangler dev`, with an upstream cache over HTTP (a static file server over a temp dir):
 * - debuginfo in both forms Nix and nixseparatedebuginfod use, and deeper NAR URLs such as snix's;
 * - Debian's Nix 2.8 substitutes unsigned content-addressed paths (test/fixtures/nix-2.8-ca, made by Nix 2.8):
 *   the worker accepts them because their CA computes to their StorePath (docs/protocol.md), and so does Nix.
 */
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  deletePaths,
  isValidPath,
  makeTempDir,
  nixClient,
  rawRequest,
  removeDir,
  requireTool,
  startStaticServer,
  startWorker,
  stopAllWorkers,
  tail,
  type CountingServer,
  type WorkerHandle,
} from "./harness";

const CA_FIXTURES = join(REPO_ROOT, "test", "fixtures", "nix-2.8-ca");
// A key that signed none of the served narinfos: acceptance must come from the content addresses alone.
const TEST_KEY_FILE = join(REPO_ROOT, "test", "fixtures", "nix-2.8", "keys", "cache-test-1.pk");
const BUILD_ID = "5f0c2a9d1e7b3c4a6d8e0f1a2b3c4d5e6f7a8b9c";

let work: string;
let upstream: CountingServer;
let worker: WorkerHandle;
let publicKey: string;
let caPaths: { form: string; storePath: string }[];

beforeAll(async () => {
  await requireTool("nix-store", ["--version"], "apt-get install -y nix-bin");
  work = await makeTempDir();
  const root = join(work, "upstream");
  await cp(CA_FIXTURES, root, { recursive: true });
  await mkdir(join(root, "debuginfo"), { recursive: true });
  await writeFile(join(root, "debuginfo", `${BUILD_ID}.debug`), '{"archive":"../nar/dot.nar.xz","member":"a"}');
  await writeFile(join(root, "debuginfo", BUILD_ID), '{"archive":"../nar/bare.nar.xz","member":"b"}');
  await mkdir(join(root, "nar", "snix-castore"), { recursive: true });
  await writeFile(join(root, "nar", "snix-castore", "blob-1"), "snix blob\n");
  caPaths = JSON.parse(await readFile(join(CA_FIXTURES, "expected.json"), "utf8")).paths;
  publicKey = (await readFile(TEST_KEY_FILE, "utf8")).trim();
  upstream = await startStaticServer(root);
  worker = await startWorker({
    persistTo: join(work, "persist"),
    logFile: join(work, "worker.log"),
    vars: {
      ORIGINS: JSON.stringify([{ type: "http", name: "upstream", url: upstream.url }]),
      TRUSTED_PUBLIC_KEYS: publicKey,
    },
  });
});

afterAll(async () => {
  await stopAllWorkers();
  await upstream?.close();
  if (work) await removeDir(work);
});

describe("issue 10 through wrangler dev", () => {
  it("serves debuginfo/<build id>.debug and debuginfo/<build id>; a build id nobody has is 404", async () => {
    const dot = await rawRequest(`${worker.url}/debuginfo/${BUILD_ID}.debug`);
    expect(dot.status, tail(worker.output())).toBe(200);
    expect(dot.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(dot.body.toString()).archive).toBe("../nar/dot.nar.xz");
    const bare = await rawRequest(`${worker.url}/debuginfo/${BUILD_ID}`);
    expect(bare.status).toBe(200);
    expect(JSON.parse(bare.body.toString()).archive).toBe("../nar/bare.nar.xz");
    expect((await rawRequest(`${worker.url}/debuginfo/${"0".repeat(40)}.debug`)).status).toBe(404);
  });

  it("serves a NAR under nar/<dir>/<file>", async () => {
    const res = await rawRequest(`${worker.url}/nar/snix-castore/blob-1`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("snix blob\n");
  });

  it("Nix 2.8 substitutes unsigned content-addressed paths of every CA form through the worker", async () => {
    // Referrers last in the list: deletePaths removes from the end.
    const paths = [...caPaths].sort(
      (a, b) => Number(a.form.includes("reference")) - Number(b.form.includes("reference")),
    );
    const storePaths = paths.map((p) => p.storePath);
    await deletePaths(storePaths);
    for (const p of storePaths) expect(await isValidPath(p)).toBe(false);
    const r = await nixClient(publicKey, work).substitute(storePaths, worker.url);
    expect(r.code, `${tail(r.stderr, 30)}\n--- worker\n${tail(worker.output())}`).toBe(0);
    for (const p of storePaths) expect(await isValidPath(p), p).toBe(true);
    const rejected = worker.events().filter((e) => e.event === "origin-object-rejected");
    expect(rejected).toEqual([]);
  });
});
