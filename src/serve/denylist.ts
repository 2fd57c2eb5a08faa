/**
 * The denylist, one model for both workers (docs/admin.md, "The block model"). The admin worker keeps explicit
 * blocks in D1 and publishes the keys they imply as one document under the KV key `denylist/v1`; the cache worker
 * holds the parsed document in its isolate, checks every request against it (hit or miss) and re-reads it from KV
 * at most every DENYLIST_REFRESH_SECONDS. A blocked route answers 410 Gone, which every Nix version reads as
 * "absent" (docs/protocol.md). Key formats, the document's format and its parser live here only.
 */
import type { CacheConfig } from "../config";
import { log } from "../log";
import type { Route } from "../routing/routes";

/** The three kinds of denylist key: a store path hash, a derivation's log, an object key. */
const KEY_KINDS = ["path", "log", "object"] as const;
type KeyKind = (typeof KEY_KINDS)[number];

export const pathKey = (hash: string): string => `path:${hash}`;
export const logKey = (drvHash: string): string => `log:${drvHash}`;
export const objectKey = (key: string): string => `object:${key}`;

/** The keys that block a route when any of them is in the denylist. */
export function denylistKeys(route: Route): string[] {
  switch (route.kind) {
    case "narinfo":
    case "listing":
      return [pathKey(route.hash)];
    case "nar":
    case "realisation":
    case "debuginfo":
      return [objectKey(route.key)];
    case "log":
      // Its own kind, so that hiding an output's build log does not hide the derivation's own narinfo.
      return [logKey(route.hash)];
    case "build-trace":
      // Hidden with its derivation, or on its own.
      return [pathKey(route.hash), objectKey(route.key)];
    case "landing":
    case "cache-info":
    case "health":
      return [];
  }
}

/** KV key of the published document. */
export const DENYLIST_DOCUMENT_KEY = "denylist/v1";
const DENYLIST_FORMAT = "nix-edge-cache-denylist/1";

interface DenylistDocument {
  format: typeof DENYLIST_FORMAT;
  /** D1's `denylist_state.version` the document was built from. */
  version: number;
  published: string;
  path: string[];
  log: string[];
  object: string[];
}

/** The document for a set of keys (`path:…`, `log:…`, `object:…`), sorted so equal sets give equal text. */
export function formatDenylist(keys: Iterable<string>, version: number, published: string): string {
  const doc: DenylistDocument = { format: DENYLIST_FORMAT, version, published, path: [], log: [], object: [] };
  for (const key of new Set(keys)) {
    const colon = key.indexOf(":");
    const kind = key.slice(0, colon) as KeyKind;
    if (colon < 0 || !KEY_KINDS.includes(kind)) throw new Error(`not a denylist key: ${key}`);
    doc[kind].push(key.slice(colon + 1));
  }
  for (const kind of KEY_KINDS) doc[kind].sort();
  return JSON.stringify(doc);
}

interface Denylist {
  version: number;
  has(key: string): boolean;
  size: number;
}

export class DenylistFormatError extends Error {}

export function parseDenylist(text: string): Denylist {
  let doc: Partial<DenylistDocument>;
  try {
    doc = JSON.parse(text) as Partial<DenylistDocument>;
  } catch {
    throw new DenylistFormatError("not JSON");
  }
  if (typeof doc !== "object" || doc === null || doc.format !== DENYLIST_FORMAT)
    throw new DenylistFormatError("unknown format");
  if (typeof doc.version !== "number") throw new DenylistFormatError("no version");
  const keys = new Set<string>();
  for (const kind of KEY_KINDS) {
    const list = doc[kind];
    if (!Array.isArray(list) || list.some((k) => typeof k !== "string"))
      throw new DenylistFormatError(`"${kind}" is not a list of strings`);
    for (const k of list) keys.add(`${kind}:${k}`);
  }
  return { version: doc.version, has: (key) => keys.has(key), size: keys.size };
}

const EMPTY_DENYLIST: Denylist = { version: 0, has: () => false, size: 0 };

export const DEFAULT_REFRESH_SECONDS = 30;
/** After a failed refresh, how long an isolate keeps its copy before asking KV again. */
const RETRY_AFTER_FAILURE_MS = 5_000;
/** A KV read slower than this counts as a failure: requests wait for the refresh. */
const KV_READ_TIMEOUT_MS = 5_000;
/**
 * Where the last good document is kept in this data centre's Cache API, for new isolates while KV is down: under
 * the cache's own hostname (PUBLIC_URL), so deployments sharing a zone keep separate copies. No route of the cache
 * worker serves this path.
 */
export function denylistFallbackUrl(config: Pick<CacheConfig, "publicUrl">): string {
  return `${(config.publicUrl ?? "https://denylist.invalid").replace(/\/+$/, "")}/_denylist/v1`;
}

export type BlockVerdict = { kind: "allowed" } | { kind: "blocked"; key: string } | { kind: "unavailable" };

/** The copy an isolate holds: lives in the parsed config (src/config.ts), like the origins' circuit breakers. */
export class HeldDenylist {
  denylist?: Denylist;
  text?: string;
  /** When to read KV again. */
  nextRefresh = 0;
  refreshing?: Promise<void>;
}

async function readWithTimeout(kv: KVNamespace): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`KV read took more than ${KV_READ_TIMEOUT_MS} ms`)), KV_READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([kv.get(DENYLIST_DOCUMENT_KEY, "text"), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function refresh(
  config: CacheConfig,
  kv: KVNamespace,
  state: HeldDenylist,
  ctx?: ExecutionContext,
): Promise<void> {
  try {
    const text = (await readWithTimeout(kv)) ?? "";
    if (text !== state.text) {
      state.denylist = text === "" ? EMPTY_DENYLIST : parseDenylist(text);
      state.text = text;
      if (text !== "") {
        const put = caches.default
          .put(denylistFallbackUrl(config), new Response(text, { headers: { "cache-control": "max-age=604800" } }))
          .catch((e: unknown) => log("warn", "denylist-fallback-write-failed", { error: String(e) }));
        if (ctx) ctx.waitUntil(put);
      }
    }
    state.nextRefresh = Date.now() + config.denylistRefreshSeconds * 1000;
  } catch (e) {
    state.nextRefresh = Date.now() + RETRY_AFTER_FAILURE_MS;
    log("error", "denylist-refresh-failed", { error: String(e), holding: state.denylist?.version ?? null });
    if (state.denylist) return;
    // A new isolate while KV is down: the copy another isolate of this data centre kept, if any.
    try {
      const copy = await caches.default.match(denylistFallbackUrl(config));
      if (copy) {
        state.text = await copy.text();
        state.denylist = parseDenylist(state.text);
        log("warn", "denylist-from-fallback", { version: state.denylist.version });
      }
    } catch (e2) {
      log("error", "denylist-fallback-failed", { error: String(e2) });
    }
  }
}

/** The denylist as this isolate holds it, refreshed first when it is due; undefined when none could be had. */
async function currentDenylist(config: CacheConfig, ctx?: ExecutionContext): Promise<Denylist | undefined> {
  const kv = config.denylist;
  if (!kv) return EMPTY_DENYLIST;
  const state = config.heldDenylist;
  if (Date.now() >= state.nextRefresh) {
    state.refreshing ??= refresh(config, kv, state, ctx).finally(() => (state.refreshing = undefined));
    await state.refreshing;
  }
  return state.denylist;
}

function verdict(denylist: Denylist | undefined, keys: readonly string[]): BlockVerdict {
  if (!denylist) return { kind: "unavailable" };
  for (const key of keys) if (denylist.has(key)) return { kind: "blocked", key };
  return { kind: "allowed" };
}

/** Whether a route may be served: checked on every request, against the copy held in the isolate. */
export function checkDenylist(config: CacheConfig, route: Route, ctx?: ExecutionContext): Promise<BlockVerdict> {
  const keys = denylistKeys(route);
  if (keys.length === 0) return Promise.resolve({ kind: "allowed" });
  // The common case, a copy that is not due for a refresh, is answered at once (bench/RESULTS.md, edge hit).
  const state = config.heldDenylist;
  if (config.denylist && state.denylist && Date.now() < state.nextRefresh)
    return Promise.resolve(verdict(state.denylist, keys));
  return currentDenylist(config, ctx).then((denylist) => verdict(denylist, keys));
}
