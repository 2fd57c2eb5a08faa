/**
 * Attribution for the narinfo-miss benchmark: the smallest worker that does what ours must on a miss before any of
 * our own logic — sign a GET with aws4fetch (as src/origins/s3.ts does) and pass the S3 answer through. Its
 * latency over a direct GET is the runtime's outbound-fetch hop plus SigV4; ours over it is our code.
 *
 * With EDGE_CACHE=1 it also does what any edge cache must on a miss, the way ours does it: one Cache API match
 * before the origin, and a put of the answer after it, in the background. The cache key carries a fresh random
 * part, so every match misses even when the benchmark repeats an S3 key (it may, like the plain pass-through). What
 * the cache worker costs over this is our own code (routing, parse, verify, format, headers).
 *
 * With HASH_BODY=1 (the NAR-streaming benchmark) it also takes a sha256 of every byte the way the runtime offers
 * without JavaScript per chunk: the S3 body is tee'd natively and one branch piped into a DigestStream. It answers
 * whether streaming and hashing could be left to the runtime altogether (it does not hold back the last chunk, so it
 * could not serve the cache anyway); bench/RESULTS.md, NAR streaming, has the answer.
 */
import { AwsClient } from "aws4fetch";

interface Env {
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  EDGE_CACHE?: string;
  HASH_BODY?: string;
}

let client: AwsClient | undefined;

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    client ??= new AwsClient({
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      service: "s3",
      region: "us-east-1",
      retries: 0,
    });
    const { pathname } = new URL(request.url);
    const edge = env.EDGE_CACHE === "1";
    const key = `https://cache.bench.invalid${pathname}?${crypto.randomUUID()}`;
    if (edge && (await caches.default.match(key))) throw new Error("a fresh cache key was a hit");
    const signed = await client.sign(`${env.S3_ENDPOINT}/${env.S3_BUCKET}${pathname}`, {
      headers: { "x-amz-request-payer": "requester" },
    });
    const response = await fetch(signed);
    if (env.HASH_BODY === "1" && response.body) {
      const [body, hashed] = response.body.tee();
      ctx.waitUntil(hashed.pipeTo(new crypto.DigestStream("SHA-256")));
      return new Response(body, response);
    }
    if (!edge || response.status !== 200) return new Response(response.body, response);
    const answer = new Response(await response.arrayBuffer(), {
      headers: {
        "content-type": response.headers.get("content-type") ?? "application/octet-stream",
        "cache-control": "public, max-age=86400",
      },
    });
    ctx.waitUntil(caches.default.put(key, answer.clone()));
    return answer;
  },
};
