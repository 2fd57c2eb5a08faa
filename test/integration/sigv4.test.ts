// Our SigV4 for S3 reads (src/origins/sigv4.ts) against aws4fetch's signer, which the real S3 server in the e2e
// suite accepts: the same headers, byte for byte, at a fixed time. Keys here are made up for the test.
import { AwsV4Signer } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { S3Signer } from "../../src/origins/sigv4";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

async function both(
  method: string,
  url: string,
  headers: Record<string, string>,
  datetime: string,
  region = "us-east-1",
) {
  const ours = await new S3Signer(credentials, region).sign(method, url, new Headers(headers), datetime);
  const theirs = await new AwsV4Signer({
    ...credentials,
    method,
    url,
    headers,
    service: "s3",
    region,
    datetime,
  }).sign();
  return { ours: Object.fromEntries(ours), theirs: Object.fromEntries(theirs.headers) };
}

describe("SigV4 for S3 reads", () => {
  const cases: [string, string, Record<string, string>][] = [
    ["GET", "http://127.0.0.1:8080/nix-cache/abcdefghijklmnopqrstuvwxyz012345.narinfo", {}],
    ["GET", "https://nix-cache.s3.us-east-1.amazonaws.com/nar/0a1b.nar.xz", { "x-amz-request-payer": "requester" }],
    ["HEAD", "http://s3.stub/nix-cache/nar/0a1b.nar.xz", { "x-amz-request-payer": "requester", range: "bytes=0-9" }],
    ["GET", "http://s3.stub/b/log/xxxx-feas-c%2B%2B-lib.drv", { "x-amz-request-payer": "requester" }],
    ["GET", "http://s3.stub/b/debuginfo/with%20space%21(x)*'", {}],
    ["GET", "http://s3.stub/b/realisations/sha256:ab!out.doi?b=2&a=1&a=0", { "x-amz-meta-note": "  two   spaces " }],
  ];
  for (const [method, url, headers] of cases) {
    it(`signs ${method} ${url} as aws4fetch does`, async () => {
      const { ours, theirs } = await both(method, url, headers, "20261130T163100Z");
      expect(ours).toEqual(theirs);
      expect(ours.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261130\/us-east-1\/s3\//);
    });
  }

  it("derives a new key when the day changes, and signs in the asked region", async () => {
    const signer = new S3Signer(credentials, "eu-west-1");
    const url = "http://s3.stub/b/x.narinfo";
    for (const datetime of ["20261130T235959Z", "20261201T000001Z", "20261130T120000Z"]) {
      const ours = Object.fromEntries(await signer.sign("GET", url, new Headers(), datetime));
      const theirs = Object.fromEntries(
        (await new AwsV4Signer({ ...credentials, url, service: "s3", region: "eu-west-1", datetime }).sign()).headers,
      );
      expect(ours).toEqual(theirs);
    }
  });
});
