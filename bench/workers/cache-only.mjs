// Attribution worker: the trivial worker plus the Cache API work an edge cache does, keyed by the request's path.
// Asked for the same path again and again (hit benchmark) it is one Cache API match per request; asked for a new
// path every time (miss benchmark) it is one match that misses plus one put, which is what our worker pays on a
// miss around its own code.
export default {
  async fetch(request, env, ctx) {
    const key = new Request(`https://cache.bench.invalid${new URL(request.url).pathname}`);
    const hit = await caches.default.match(key);
    if (hit) return hit;
    const response = new Response(env.CONSTANT_BODY, {
      headers: { "content-type": "text/x-nix-narinfo", "cache-control": "public, max-age=86400" },
    });
    ctx.waitUntil(caches.default.put(key, response.clone()));
    return response;
  },
};
