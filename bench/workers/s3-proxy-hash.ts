/**
 * Attribution for the NAR-streaming benchmark: the pass-through worker (s3-proxy.ts) plus a sha256 of every byte,
 * done entirely by the runtime: the S3 body is tee'd natively and one branch is piped into a DigestStream, so no
 * JavaScript runs per chunk. Its throughput is the floor for "stream and hash" in this runtime; what the cache
 * worker loses beyond it is its own per-chunk work (idle timeout, window, hold-back of the last chunk).
 */
import { AwsClient } from "aws4fetch";

interface Env {
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
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
    const signed = await client.sign(`${env.S3_ENDPOINT}/${env.S3_BUCKET}${pathname}`, {
      headers: { "x-amz-request-payer": "requester" },
    });
    const response = await fetch(signed);
    if (!response.body) return new Response(null, response);
    const [body, hashed] = response.body.tee();
    ctx.waitUntil(hashed.pipeTo(new crypto.DigestStream("SHA-256")));
    return new Response(body, response);
  },
};
