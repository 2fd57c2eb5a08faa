/**
 * Attribution for the NAR-streaming benchmark: the pass-through worker (s3-proxy.ts) plus a sha256 of every byte
 * the way the runtime offers without JavaScript per chunk: the S3 body is tee'd natively and one branch is piped
 * into a DigestStream. It answers whether streaming and hashing could be left to the runtime altogether (it does
 * not hold back the last chunk, so it could not serve the cache anyway); bench/RESULTS.md, NAR streaming, has the
 * answer.
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
