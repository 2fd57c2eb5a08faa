// The cost benchmark's check of its own instrument (bench/cost.mjs, calibrate): a worker that makes exactly one
// call of each billable kind per request. Wrapped by workers/counting.mjs like the cache worker, it must come out
// as one KV read, one R2 class B and one class A operation, one Cache API call, one Analytics Engine data point
// and one subrequest per request; if the wrapper missed a kind of call, the cache worker's counts would be wrong.
export default {
  async fetch(request, env, ctx) {
    await env.KV.get("probe");
    await (await env.BUCKET.get("probe"))?.arrayBuffer();
    await caches.default.match("https://probe.invalid/x");
    env.AE.writeDataPoint({ blobs: ["probe"], doubles: [1] });
    await (await fetch(env.ECHO_URL)).arrayBuffer();
    ctx.waitUntil(env.BUCKET.put(`probe-${crypto.randomUUID()}`, "x"));
    return new Response("ok");
  },
};
