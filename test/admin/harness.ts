/**
 * Drives the admin worker and the cache worker inside one workerd isolate (the "admin" vitest project, bindings
 * from wrangler.admin.toml): both handlers get the same KV denylist, R2 bucket and caches.default, as two workers
 * on one zone do. The Cloudflare API is a fake on outbound fetch that records purge calls and can answer 429.
 * Fixtures and the cache worker's request helper come from test/integration/harness.ts.
 */
import { createExecutionContext, env as baseEnv, waitOnExecutionContext } from "cloudflare:test";
import { vi } from "vitest";
import { handleAdmin } from "../../src/admin/index";
import type { AdminEnv } from "../../src/admin/env";
import type { Env } from "../../src/env";
import { TEST_KEY, stubOrigins, type StubHandler } from "../integration/harness";

export { call as callCache, fixturePath, fixtureText, fixtureBytes, seedR2 } from "../integration/harness";

export const ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353";
export const CF_API_TOKEN = "cf-api-token-for-tests-only";
export const HOOK_SECRET = "hook-secret-for-tests-only";

/** Bearer tokens by name; ADMIN_TOKENS holds only their SHA-256. */
export const TOKENS = {
  all: "tok-all-Zp3q8Vn1c7XkR2",
  purge: "tok-purge-Jm4t9Qe2w8Lb",
  block: "tok-block-Hd6s1Ff5y3Na",
  delete: "tok-delete-Kc2r7Tg9u4Pz",
  read: "tok-read-Wv8e3Xh6j1Ms",
} as const;

const SCOPES_OF: Record<keyof typeof TOKENS, string[]> = {
  all: ["purge", "block", "delete", "read"],
  purge: ["purge"],
  block: ["block"],
  delete: ["delete"],
  read: ["read"],
};

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function adminTokens(): Promise<string> {
  const entries = await Promise.all(
    (Object.keys(TOKENS) as (keyof typeof TOKENS)[]).map(async (id) => ({
      id: `${id}-admin`,
      sha256: await sha256Hex(TOKENS[id]),
      scopes: SCOPES_OF[id],
    })),
  );
  return JSON.stringify(entries);
}

export function bindings(): AdminEnv & { NAR_BUCKET: R2Bucket; DENYLIST: KVNamespace; AUDIT: D1Database } {
  const { AUDIT } = baseEnv;
  if (!AUDIT) throw new Error("no AUDIT binding: admin tests run in the admin project (wrangler.admin.toml)");
  return { ...baseEnv, AUDIT };
}

let counter = 0;

/** The admin env and the matching cache worker env: same bindings, same PUBLIC_URL (fresh per test). */
export async function envs(overrides: Partial<AdminEnv> = {}): Promise<{ admin: AdminEnv; cache: Env }> {
  counter += 1;
  const publicUrl = `https://cache-admin-${counter}-${crypto.randomUUID().slice(0, 8)}.test`;
  const admin: AdminEnv = {
    ...bindings(),
    ORIGINS: [{ type: "r2", binding: "NAR_BUCKET" }],
    TRUSTED_PUBLIC_KEYS: TEST_KEY(),
    PUBLIC_URL: publicUrl,
    CLOUDFLARE_ZONE_ID: ZONE_ID,
    CLOUDFLARE_API_BASE: "https://api.cloudflare.stub/client/v4",
    CLOUDFLARE_API_TOKEN: CF_API_TOKEN,
    PURGE_BATCH_SIZE: "30",
    ADMIN_TOKENS: await adminTokens(),
    HOOK_SECRET,
    HOOK_BUCKETS: "nix-cache",
    ...overrides,
  };
  const cache: Env = {
    ...baseEnv,
    ORIGINS: admin.ORIGINS,
    TRUSTED_PUBLIC_KEYS: TEST_KEY(),
    PUBLIC_URL: publicUrl,
    // Every request re-reads the published denylist, so a test sees a block at once; the refresh interval itself
    // is tested in denylist.test.ts.
    DENYLIST_REFRESH_SECONDS: "0",
  };
  return { admin, cache };
}

export interface AdminCall {
  token?: keyof typeof TOKENS | string | null;
  body?: unknown;
  rawBody?: string;
  /** A body without Content-Length. */
  stream?: ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}

export interface AdminAnswer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
  /** Waits the admin asked for (Retry-After), without waiting. */
  sleeps: number[];
}

export async function callAdmin(
  env: AdminEnv,
  method: string,
  path: string,
  init: AdminCall = {},
): Promise<AdminAnswer> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? "all" : init.token;
  if (token !== null)
    headers.set("authorization", `Bearer ${token in TOKENS ? TOKENS[token as keyof typeof TOKENS] : token}`);
  let body: string | ReadableStream<Uint8Array> | undefined = init.stream ?? init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers.set("content-type", "application/json");
  }
  const ctx = createExecutionContext();
  const sleeps: number[] = [];
  const response = await handleAdmin(
    new Request(`https://cache-admin.test${path}`, { method, headers, body }),
    env,
    ctx,
    async (ms) => {
      sleeps.push(ms);
    },
  );
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text, sleeps };
}

export interface PurgeApiCall {
  zone: string;
  authorization: string | null;
  files: string[];
}

/**
 * A fake of `POST /zones/:zone/purge_cache`: records each call; `script` answers calls in order (then 200s),
 * e.g. `[429, 200]` or `[{ status: 429, retryAfter: "1" }]`.
 */
export function fakeCloudflareApi(
  script: (number | { status: number; retryAfter?: string })[] = [],
  /** Answers requests to other `.stub` hosts (a fake S3 origin, say). */
  other?: StubHandler,
  /** Runs while a purge call is in flight, before it is answered. */
  during?: () => Promise<void>,
) {
  const calls: PurgeApiCall[] = [];
  const answers: PurgeApiCall[] = [];
  stubOrigins(async (request) => {
    const url = new URL(request.url);
    if (url.hostname !== "api.cloudflare.stub")
      return other ? other(request) : new Response("no such host", { status: 502 });
    const m = /^\/client\/v4\/zones\/([^/]+)\/purge_cache$/.exec(url.pathname);
    if (request.method !== "POST" || !m) return new Response("not a purge call", { status: 404 });
    const body = (await request.json()) as { files: string[] };
    if (during) await during();
    const call = { zone: m[1]!, authorization: request.headers.get("authorization"), files: body.files };
    calls.push(call);
    const next = script.shift();
    const status = typeof next === "number" ? next : (next?.status ?? 200);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (typeof next === "object" && next.retryAfter !== undefined) headers["retry-after"] = next.retryAfter;
    if (status === 200) {
      answers.push(call);
      return new Response(JSON.stringify({ success: true, errors: [], messages: [], result: { id: "purge-id" } }), {
        headers,
      });
    }
    const message = status === 429 ? "Rate limited. Please wait and try again." : "Purge refused";
    return new Response(JSON.stringify({ success: false, errors: [{ code: status === 429 ? 971 : 1000, message }] }), {
      status,
      headers,
    });
  });
  /** URLs the API accepted (answered 200 for). */
  const purged = () => answers.flatMap((c) => c.files);
  return { calls, purged };
}

export interface AuditRow {
  id: number;
  actor: string;
  action: string;
  request: string;
  result: string;
  status: number;
  detail: string | null;
  completed_at: string | null;
}

export async function auditRows(): Promise<AuditRow[]> {
  const { results } = await bindings().AUDIT.prepare("SELECT * FROM audit ORDER BY id").all<any>();
  return results;
}

export function restoreFetch(): void {
  vi.restoreAllMocks();
}

/** The denylist document the admin worker last published to KV, as key strings (`path:…`, `log:…`, `object:…`). */
export async function publishedKeys(): Promise<string[]> {
  const text = await bindings().DENYLIST.get("denylist/v1");
  if (text === null) return [];
  const doc = JSON.parse(text) as Record<string, unknown>;
  return (["path", "log", "object"] as const).flatMap((kind) => (doc[kind] as string[]).map((k) => `${kind}:${k}`));
}

/** Removes every explicit block and publishes the empty denylist: D1 and KV outlive single tests within a file. */
export async function clearBlocks(): Promise<void> {
  const db = bindings().AUDIT;
  await db.batch([
    db.prepare("DELETE FROM blocks"),
    db.prepare("UPDATE denylist_state SET version = version + 1 WHERE id = 1"),
  ]);
  const { publishDenylist } = await import("../../src/admin/denylistStore");
  await publishDenylist(db, bindings().DENYLIST, async () => {});
}
