// Attribution worker for bench/attribute-memory.mjs: the read path's pump (src/streams/fanOut.ts) fed by a
// generated body instead of an origin, its client branch returned, and each other branch written to one sink
// named in the query: `discard` (read and dropped at once), `cache` (Cache API put) or `r2` (R2 put). Run with a
// slow client, the RSS growth per combination of sinks and window tells the pump's share from the simulators'.
//
//   GET /?size=<bytes>&window=<bytes>&sinks=cache,r2
import { fanOut } from "../../src/streams/fanOut";

interface Env {
  BUCKET: R2Bucket;
}

const CHUNK = 128 * 1024;

/** `size` bytes in fresh 128 KiB chunks, made only when read, as an origin body read 128 KiB at a time. */
function generated(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const n = Math.min(CHUNK, size - sent);
        if (n <= 0) return controller.close();
        const chunk = new Uint8Array(n);
        chunk.fill(sent & 0xff);
        sent += n;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const size = Number(url.searchParams.get("size"));
    const window = Number(url.searchParams.get("window"));
    const sinks = (url.searchParams.get("sinks") ?? "").split(",").filter(Boolean);
    const key = `attribution-${Date.now()}`;
    const fan = fanOut(generated(size), {
      branches: 1 + sinks.length,
      length: size,
      window,
      expected: { length: size },
    });
    const [client, ...copies] = fan.branches;
    for (const [i, sink] of sinks.entries()) {
      const body = copies[i]!;
      if (sink === "discard") ctx.waitUntil(body.pipeTo(new WritableStream()));
      else if (sink === "r2") ctx.waitUntil(env.BUCKET.put(key, body));
      else if (sink === "cache") {
        const response = new Response(body, {
          headers: { "cache-control": "public, max-age=3600", "content-length": String(size) },
        });
        ctx.waitUntil(caches.default.put(`https://attribution.invalid/${key}`, response));
      } else return new Response(`unknown sink ${sink}`, { status: 400 });
    }
    return new Response(client!);
  },
};
