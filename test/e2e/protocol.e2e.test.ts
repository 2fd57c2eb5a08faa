/**
 * End to end through the cache worker (its deploy bundle in workerd, test/e2e/harness.ts `startWorker`), with an
 * upstream cache over HTTP (a static file server over a temp dir):
 * - debuginfo in both forms Nix and nixseparatedebuginfod use, and deeper NAR URLs such as snix's;
 * - Debian's Nix 2.8 substitutes unsigned content-addressed paths (test/fixtures/nix-2.8-ca, made by Nix 2.8):
 *   the worker accepts them because their CA computes to their StorePath (docs/protocol.md), and so does Nix;
 * - Debian's Nix 2.8 substitutes signed paths of test/fixtures/nix-2.8 from the origin kinds of docs/configuration.md
 *   that differ from a plain `nix copy` cache: an upstream that wants `?hash=` on NAR URLs (a stub shaped like
 *   harmonia), one that names zstd NARs by their NarHash (a stub shaped like ncps and nix-casync, `narNames =
 *   "opaque"`), and R2 objects stored with `Content-Encoding: gzip` (docs/request-flow.md, "Content-Encoding").
 * One worker serves all of them: each origin holds only its own paths, and a miss falls through to the next.
 */
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  deletePaths,
  isValidPath,
  validPaths,
  makeTempDir,
  nixClient,
  rawRequest,
  putR2,
  removeDir,
  requireTool,
  run,
  startStaticServer,
  startWorker,
  stopAllWorkers,
  tail,
  type CountingServer,
  type WorkerHandle,
} from "./harness";
import { contentTypeFor } from "../../scripts/lib/content-type.mjs";

const CA_FIXTURES = join(REPO_ROOT, "test", "fixtures", "nix-2.8-ca");
// A key that signed none of the served narinfos: acceptance must come from the content addresses alone.
const TEST_KEY_FILE = join(REPO_ROOT, "test", "fixtures", "nix-2.8", "keys", "cache-test-1.pk");
const BUILD_ID = "5f0c2a9d1e7b3c4a6d8e0f1a2b3c4d5e6f7a8b9c";
// Signed by cache-test-1 (keys/cache-test-1.pk): a narinfo's URL is not part of what the signature covers, so the
// stubs below may rename NARs and the signatures still hold (docs/protocol.md).
const SIGNED_FIXTURES = join(REPO_ROOT, "test", "fixtures", "nix-2.8");

interface FixturePath {
  name: string;
  storePath: string;
  hashPart: string;
  narHash: string;
  xz: { narinfoPath: string; lsPath: string; url: string; narPath: string };
  zstd: { narinfoPath: string; url: string; narPath: string };
}

interface StubRequest {
  path: string;
  search: string;
  status: number;
}

/** A loopback HTTP server answering GET from `answer` (a stub upstream), recording what it was asked. */
async function startStub(
  answer: (path: string, query: URLSearchParams) => { status: number; body?: Buffer | string; type?: string },
): Promise<{ url: string; requests: StubRequest[]; close(): Promise<void> }> {
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    const a = answer(url.pathname, url.searchParams);
    requests.push({ path: url.pathname, search: url.search, status: a.status });
    res.writeHead(a.status, { "content-type": a.type ?? "text/plain" });
    res.end(req.method === "HEAD" ? undefined : (a.body ?? "Not Found\n"));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

const withUrl = (narinfo: string, url: string) => narinfo.replace(/^URL: .*$/m, `URL: ${url}`);

let work: string;
let upstream: CountingServer;
let worker: WorkerHandle;
let publicKey: string;
let caPaths: { form: string; storePath: string }[];
let signed: Record<"dep" | "app" | "lib", FixturePath>;
let harmonia: Awaited<ReturnType<typeof startStub>>;
let ncps: Awaited<ReturnType<typeof startStub>>;
let signedKey: string;

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

  const fixtures = JSON.parse(await readFile(join(SIGNED_FIXTURES, "expected.json"), "utf8"));
  signedKey = fixtures.publicKey;
  const byName = (n: string): FixturePath => fixtures.paths.find((p: FixturePath) => p.name === n);
  signed = { dep: byName("feas-dep"), app: byName("feas-app"), lib: byName("feas-c++-lib") };
  const fixture = (rel: string) => readFile(join(SIGNED_FIXTURES, rel));

  // (a) Shaped like harmonia: the narinfo's URL carries `?hash=<store hash>`, and a NAR asked for without the right
  // one is 404. Holds feas-app only.
  const app = signed.app;
  const appNarinfo = withUrl((await fixture(app.xz.narinfoPath)).toString(), `${app.xz.url}?hash=${app.hashPart}`);
  const appNar = await fixture(app.xz.narPath);
  harmonia = await startStub((path, query) => {
    if (path === `/${app.hashPart}.narinfo`) return { status: 200, body: appNarinfo, type: "text/x-nix-narinfo" };
    if (path === `/${app.xz.url}` && query.get("hash") === app.hashPart) return { status: 200, body: appNar };
    return { status: 404 };
  });

  // (b) Shaped like ncps and nix-casync: the zstd NAR is named by the NarHash (nix32), not by the FileHash; FileHash
  // and FileSize stay those of the zstd file. Holds feas-c++-lib only.
  const lib = signed.lib;
  const libNarKey = `nar/${lib.narHash.replace(/^sha256:/, "")}.nar.zst`;
  const libNarinfo = withUrl((await fixture(lib.zstd.narinfoPath)).toString(), libNarKey);
  const libNar = await fixture(lib.zstd.narPath);
  ncps = await startStub((path) => {
    if (path === `/${lib.hashPart}.narinfo`) return { status: 200, body: libNarinfo, type: "text/x-nix-narinfo" };
    if (path === `/${libNarKey}`) return { status: 200, body: libNar, type: "application/x-nix-nar" };
    return { status: 404 };
  });

  // (c) R2 holding feas-dep with its narinfo and listing stored gzip-compressed with `Content-Encoding: gzip`, as
  // `nix copy --to 's3://…?narinfo-compression=gzip&ls-compression=gzip'` leaves them.
  const persistTo = join(work, "persist");
  await putR2(persistTo, [
    {
      key: signed.dep.xz.url,
      body: await fixture(signed.dep.xz.narPath),
      httpMetadata: { contentType: contentTypeFor(signed.dep.xz.url) },
    },
    {
      key: `${signed.dep.hashPart}.narinfo`,
      body: gzipSync(await fixture(signed.dep.xz.narinfoPath)),
      httpMetadata: { contentType: "text/x-nix-narinfo", contentEncoding: "gzip" },
    },
    {
      key: `${signed.dep.hashPart}.ls`,
      body: gzipSync(await fixture(signed.dep.xz.lsPath)),
      httpMetadata: { contentType: "application/json", contentEncoding: "gzip" },
    },
  ]);

  worker = await startWorker({
    persistTo,
    logFile: join(work, "worker.log"),
    vars: {
      ORIGINS: JSON.stringify([
        { type: "r2", binding: "NAR_BUCKET" },
        { type: "http", name: "upstream", url: upstream.url },
        { type: "http", name: "harmonia", url: harmonia.url },
        { type: "http", name: "ncps", url: ncps.url, narNames: "opaque" },
      ]),
      // The CA test's key signed none of the CA paths; cache-test-1 signed the nix-2.8 fixtures.
      TRUSTED_PUBLIC_KEYS: `${publicKey} ${signedKey}`,
    },
  });
});

afterAll(async () => {
  await stopAllWorkers();
  await upstream?.close();
  await harmonia?.close();
  await ncps?.close();
  if (work) await removeDir(work);
});

describe("issue 10 through the worker", () => {
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
    const storePaths = caPaths.map((p) => p.storePath);
    await deletePaths(storePaths);
    expect([...(await validPaths(storePaths))], "valid after deletion").toEqual([]);
    const r = await nixClient(publicKey, work).substitute(storePaths, worker.url);
    expect(r.code, `${tail(r.stderr, 30)}\n--- worker\n${tail(worker.output())}`).toBe(0);
    expect([...(await validPaths(storePaths))], "valid after substitution").toEqual(storePaths);
    const rejected = worker.events().filter((e) => e.event === "origin-object-rejected");
    expect(rejected).toEqual([]);
  });
});

describe("issue 10: origins that differ from a plain `nix copy` cache, through the worker", () => {
  /** Deletes `target` (and the paths referring to it), substitutes it with Nix 2.8 and expects it valid after. */
  async function substituteFresh(target: FixturePath) {
    const referrers = target === signed.dep ? [signed.app, signed.lib] : [];
    await deletePaths([target.storePath, ...referrers.map((p) => p.storePath)]);
    expect(await isValidPath(target.storePath)).toBe(false);
    const r = await nixClient(signedKey, work).substitute([target.storePath], worker.url);
    expect(r.code, `${tail(r.stderr, 30)}\n--- worker\n${tail(worker.output())}`).toBe(0);
    expect(await isValidPath(target.storePath)).toBe(true);
    expect(worker.events().filter((e) => e.event === "origin-object-rejected")).toEqual([]);
  }

  it("(c) R2 objects with Content-Encoding gzip: Nix substitutes; clients get the listing gzip-encoded", async () => {
    await substituteFresh(signed.dep);
    const listing = await readFile(join(SIGNED_FIXTURES, signed.dep.xz.lsPath), "utf8");
    const raw = await rawRequest(`${worker.url}/${signed.dep.hashPart}.ls`);
    expect(raw.status).toBe(200);
    // Served with its stored encoding (docs/request-flow.md): the bytes are gzip, and the header says so.
    expect(raw.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(raw.body).toString()).toBe(listing);
    // curl (Nix's HTTP client) decodes it to the listing.
    const curl = await run("curl", ["-sS", "--fail", "--compressed", `${worker.url}/${signed.dep.hashPart}.ls`]);
    expect(curl.code, curl.stderr).toBe(0);
    expect(JSON.parse(curl.stdout)).toEqual(JSON.parse(listing));
    // The narinfo is decoded before it is verified and served plain.
    const narinfo = await rawRequest(`${worker.url}/${signed.dep.hashPart}.narinfo`);
    expect(narinfo.status).toBe(200);
    expect(narinfo.headers["content-encoding"]).toBeUndefined();
    expect(narinfo.body.toString()).toContain(`StorePath: ${signed.dep.storePath}\n`);
  });

  it("(a) an upstream that answers NARs only with ?hash= (stub shaped like harmonia): Nix substitutes", async () => {
    await substituteFresh(signed.app);
    const nar = harmonia.requests.filter((r) => r.path === `/${signed.app.xz.url}`);
    expect(nar.map((r) => [r.search, r.status])).toEqual([[`?hash=${signed.app.hashPart}`, 200]]);
  });

  it("(b) an upstream naming zstd NARs by NarHash, narNames = opaque (stub like ncps): Nix substitutes", async () => {
    await substituteFresh(signed.lib);
    const narKey = `/nar/${signed.lib.narHash.replace(/^sha256:/, "")}.nar.zst`;
    expect(ncps.requests.filter((r) => r.path === narKey).map((r) => r.status)).toEqual([200]);
  });
});
