// The cost benchmark's view of what the cache worker does with its bindings (bench/cost.mjs). This module wraps
// the deployed bundle (esbuild aliases "cache-worker" to the file `wrangler deploy --dry-run` wrote) and counts, at
// the binding level, every call the worker makes: each method of each binding object in `env` (KV, R2, Analytics
// Engine, whatever wrangler.toml binds), the Cache API (Cache.prototype.match/put/delete), outbound fetch(), and the
// work handed to ctx.waitUntil. The worker's own code is untouched and unaware: a design change that adds a storage
// call shows up here as a counted call.
//
// Harness-only paths (never routed to the worker):
//   GET  /__bench/counters        → { counts, inflight, requests }
//   POST /__bench/reset           → zeroes the counters
//   PUT  /__bench/r2/<binding>/<key>  → writes the body to that R2 binding directly (seeding; not counted)
import worker from "cache-worker";

let counts = {};
let inflight = 0;
let requests = 0;

function add(name, n = 1) {
  counts[name] = (counts[name] ?? 0) + n;
}

/** Resolves when `promise` settles; `inflight` counts what has not yet, so the harness knows when work is done. */
function track(promise) {
  inflight++;
  const done = () => inflight--;
  Promise.resolve(promise).then(done, done);
  return promise;
}

// Objects a binding method hands back that have billable methods of their own (R2 multipart uploads).
const WRAP_RESULT = new Set(["createMultipartUpload", "resumeMultipartUpload"]);

function wrapObject(label, target) {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args) => {
        add(`${label}.${prop}`);
        let result = value.apply(t, args);
        if (result && typeof result.then === "function") {
          result = result.then((r) => {
            if (r && typeof r === "object") {
              // Bytes R2 hands out or keeps: `size` of the object, or the length of the range read.
              if (typeof r.size === "number" && (prop === "get" || prop === "put" || prop === "uploadPart")) {
                add(`${label}.${prop}.bytes`, r.range?.length ?? r.size);
              }
              if (WRAP_RESULT.has(prop)) return wrapObject(`${label}.multipart`, r);
            }
            if (r === null && (prop === "get" || prop === "head")) add(`${label}.${prop}.null`);
            return r;
          });
          track(result);
        } else if (result && typeof result === "object" && WRAP_RESULT.has(prop)) {
          result = wrapObject(`${label}.multipart`, result);
        }
        return result;
      };
    },
  });
}

/** Wraps every binding object (KV namespace, R2 bucket, dataset, …); plain vars, arrays and strings pass as they
 * are. */
function wrapEnv(env) {
  const out = {};
  for (const [name, value] of Object.entries(env)) {
    const isBinding =
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      Object.getPrototypeOf(value) !== Object.prototype;
    out[name] = isBinding ? wrapObject(name, value) : value;
  }
  return out;
}

// The Cache API: patched on the prototype, so caches.default and caches.open(...) alike are counted.
let cachePatched = false;
function patchCacheApi() {
  if (cachePatched || typeof caches === "undefined") return;
  cachePatched = true;
  const proto = Object.getPrototypeOf(caches.default);
  for (const method of ["match", "put", "delete"]) {
    const original = proto[method];
    proto[method] = function (...args) {
      add(`cache.${method}`);
      const result = original.apply(this, args);
      if (method === "match") {
        return track(
          result.then((r) => {
            add(r ? "cache.match.hit" : "cache.match.miss");
            return r;
          }),
        );
      }
      return track(result);
    };
  }
  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) => {
    add("fetch");
    return track(realFetch(...args));
  };
}

// One wrapped env per isolate's env object: config caches keyed by env identity keep working across requests.
const wrapped = new WeakMap();

export default {
  async fetch(request, env, ctx) {
    patchCacheApi();
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__bench/")) {
      if (url.pathname === "/__bench/counters") return Response.json({ counts, inflight, requests });
      if (url.pathname === "/__bench/reset" && request.method === "POST") {
        counts = {};
        requests = 0;
        return Response.json({ ok: true });
      }
      const seed = /^\/__bench\/r2\/([^/]+)\/(.+)$/.exec(url.pathname);
      if (seed && request.method === "PUT") {
        await env[seed[1]].put(decodeURIComponent(seed[2]), await request.arrayBuffer(), {
          httpMetadata: { contentType: request.headers.get("content-type") ?? undefined },
        });
        return new Response(null, { status: 204 });
      }
      return new Response("unknown bench path\n", { status: 404 });
    }
    requests++;
    let w = wrapped.get(env);
    if (!w) wrapped.set(env, (w = wrapEnv(env)));
    const trackedCtx = new Proxy(ctx, {
      get(t, prop) {
        if (prop === "waitUntil") return (p) => t.waitUntil(track(p));
        const v = Reflect.get(t, prop, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    return worker.fetch(request, w, trackedCtx);
  },
};
