/**
 * Attribution for the narinfo-miss benchmark: the smallest worker that does what ours must on a miss before any of
 * our own logic — sign a GET with aws4fetch (as src/origins/s3.ts does) and pass the S3 answer through. Its
 * latency over a direct GET is the runtime's outbound-fetch hop plus SigV4; ours over it is our code.
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
  async fetch(request: Request, env: Env): Promise<Response> {
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
    return new Response(response.body, response);
  },
};
