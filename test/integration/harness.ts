/**
 * Drives the cache worker inside workerd: real Cache API, real R2 (Miniflare's), real WebCrypto. Upstream HTTP
 * and S3 origins are stubs only where a test injects a fault, and those tests say so in their names.
 */
import { createExecutionContext, env as baseEnv, waitOnExecutionContext } from "cloudflare:test";
import { inject, vi } from "vitest";
import worker from "../../src/index";
import type { Env } from "../../src/env";

export const fixtureFiles = (): Record<string, string> => inject("fixtures");

export function fixtureBytes(path: string): Uint8Array {
  const b64 = fixtureFiles()[path];
  if (b64 === undefined) throw new Error(`no fixture ${path}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export function fixtureText(path: string): string {
  return new TextDecoder().decode(fixtureBytes(path));
}

export interface ExpectedPath {
  name: string;
  storePath: string;
  hashPart: string;
  narinfoFile: string;
  narSize: number;
  fingerprint: string;
  sig: string;
  xz: { url: string; narPath: string; narinfoPath: string; lsPath: string };
  zstd: { url: string; narPath: string; narinfoPath: string; lsPath: string };
}

export function expected(): { publicKey: string; paths: ExpectedPath[] } {
  return JSON.parse(fixtureText("expected.json"));
}

export function fixturePath(name: string): ExpectedPath {
  const p = expected().paths.find((x) => x.name === name);
  if (!p) throw new Error(`no fixture path ${name}`);
  return p;
}

export const TEST_KEY = (): string => expected().publicKey;

/** The R2 bucket of the test project's wrangler config (NAR_BUCKET), shared by the tests of one file. */
export const bucket = (): R2Bucket => baseEnv.NAR_BUCKET;

/** ORIGINS entries for tests: an upstream stubbed by `stubOrigins` (host `<name>.stub`) and the R2 bucket. */
export const upstream = (name: string, extra: Record<string, unknown> = {}) => ({
  type: "http",
  url: `http://${name}.stub`,
  ...extra,
});
export const r2 = (extra: Record<string, unknown> = {}) => ({ type: "r2", binding: "NAR_BUCKET", ...extra });

/** Empties a bucket: storage outlives single tests within a file. */
export async function emptyBucket(bucket: R2Bucket): Promise<void> {
  for (;;) {
    const listed = await bucket.list({ limit: 1000 });
    if (listed.objects.length === 0) return;
    await bucket.delete(listed.objects.map((o) => o.key));
  }
}

/** Uploads one compression variant of the fixture cache into an R2 bucket, as `nix copy` laid it out. */
export async function seedR2(bucket: R2Bucket, variant: "xz" | "zstd" = "xz"): Promise<void> {
  for (const [path] of Object.entries(fixtureFiles())) {
    if (!path.startsWith(`${variant}/`)) continue;
    const key = path.slice(variant.length + 1);
    await bucket.put(key, fixtureBytes(path));
  }
}

let counter = 0;

/**
 * A fresh env for one test: its own PUBLIC_URL (so edge-cache keys never collide between tests) and, unless given,
 * R2 as the only origin, the fixtures' test key as the trusted key and origin names in Server-Timing.
 */
export function testEnv(overrides: Partial<Env> = {}): Env {
  counter += 1;
  return {
    ...baseEnv,
    ORIGINS: [{ type: "r2", binding: "NAR_BUCKET" }],
    TRUSTED_PUBLIC_KEYS: TEST_KEY(),
    PUBLIC_URL: `https://cache-${counter}-${crypto.randomUUID().slice(0, 8)}.test`,
    // Tests read each origin's outcome from Server-Timing; off by default in deployments (docs/configuration.md).
    SERVER_TIMING_ORIGINS: "1",
    ...overrides,
  };
}

export async function call(env: Env, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`https://cache.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  const body = response.body ? new Uint8Array(await response.arrayBuffer()) : null;
  await waitOnExecutionContext(ctx);
  return new Response(body, { status: response.status, headers: response.headers });
}

/**
 * Like `call`, but hands the body over as a promise, for tests that watch a stream fail. The body is read at once,
 * as the runtime does with a real client: a stream that fails before anyone reads it is reported by workerd as an
 * unhandled rejection.
 */
export async function callStreaming(env: Env, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`https://cache.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>,
    env,
    ctx,
  );
  const body = response.arrayBuffer().then((b) => new Uint8Array(b));
  body.catch(() => undefined);
  return { response, body, settled: () => waitOnExecutionContext(ctx) };
}

export type StubHandler = (request: Request) => Response | Promise<Response>;

/**
 * Replaces outbound fetch for hosts under `.stub`: a stand-in for an upstream cache or S3 server that a test
 * makes misbehave. Records every request it sees.
 */
export function stubOrigins(handler: StubHandler): { requests: Request[] } {
  const requests: Request[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input as RequestInfo, init);
    if (!new URL(request.url).hostname.endsWith(".stub")) return real(input as RequestInfo, init);
    requests.push(request.clone() as Request);
    if (request.signal?.aborted) throw new DOMException("aborted", "AbortError");
    return await new Promise<Response>((resolve, reject) => {
      request.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      Promise.resolve(handler(request)).then(resolve, reject);
    });
  });
  return { requests };
}

/** Serves the fixture cache (one variant) like a static upstream cache would. */
export function fixtureUpstream(variant: "xz" | "zstd" = "xz"): StubHandler {
  return (request) => {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const b64 = fixtureFiles()[`${variant}/${key}`];
    if (b64 === undefined) return new Response("no such file", { status: 404 });
    const bytes = fixtureBytes(`${variant}/${key}`);
    return new Response(request.method === "HEAD" ? null : bytes, {
      headers: { "content-length": String(bytes.byteLength) },
    });
  };
}

export function bytesOf(response: Response): Promise<Uint8Array> {
  return response.arrayBuffer().then((b) => new Uint8Array(b));
}
