// A small SigV4 S3 client for tests and fixtures (node >= 20, aws4fetch).
//
//   import { s3Client } from "./s3-client.mjs";
//   const s3 = s3Client({ endpoint, accessKeyId, secretAccessKey, region });
//   await s3.createBucket("cache"); await s3.uploadDir("cache", "/tmp/binary-cache");
//
// CLI (credentials from S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION, as printed by
// `scripts/s3-origin.sh env`):
//   node scripts/s3-client.mjs upload-dir BUCKET DIR [PREFIX]
//
// Path-style URLs (http://host:port/bucket/key). Each key segment is encoded the way S3's canonical
// URI expects (encodeURIComponent plus !'()*), so "+" travels as %2B: a raw "+" in an S3 path can be
// read as a space.
import { AwsClient } from "aws4fetch";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { contentTypeFor } from "./lib/content-type.mjs";

/** Encode one path segment as S3's SigV4 canonical URI does (RFC 3986 unreserved kept). */
export function encodeSegment(segment) {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Encode an object key for a path-style URL: every segment encoded, "/" kept. */
export function encodeKey(key) {
  return key.split("/").map(encodeSegment).join("/");
}

export { contentTypeFor };

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

async function expectOk(res, what, alsoOk = []) {
  if (res.ok || alsoOk.includes(res.status)) return res;
  const text = await res.text().catch(() => "");
  throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 500)}`);
}

export function s3Client({ endpoint, accessKeyId, secretAccessKey, region = "us-east-1" }) {
  if (!endpoint) throw new TypeError("endpoint is required");
  // retries: 0 — aws4fetch retries 5xx up to 10 times by default, which hides server errors in
  // tests and cannot replay a streamed body anyway.
  const aws = new AwsClient({ accessKeyId, secretAccessKey, region, service: "s3", retries: 0 });
  const base = endpoint.replace(/\/+$/, "");

  const url = (bucket, key) => `${base}/${encodeSegment(bucket)}` + (key === undefined ? "" : `/${encodeKey(key)}`);

  /** Signed request to a bucket or an object; returns the raw Response. */
  function request(method, bucket, key, init = {}) {
    return aws.fetch(url(bucket, key), { ...init, method });
  }

  return {
    url,
    request,
    /** The underlying aws4fetch client, for requests this module does not wrap. */
    aws,

    async createBucket(bucket) {
      const res = await request("PUT", bucket);
      // Re-creating a bucket you own: 409 BucketAlreadyOwnedByYou (or 200 on us-east-1 AWS).
      if (res.status === 409) {
        const text = await res.text();
        if (text.includes("BucketAlreadyOwnedByYou")) return;
        throw new Error(`createBucket ${bucket}: HTTP 409 ${text.slice(0, 500)}`);
      }
      await expectOk(res, `createBucket ${bucket}`);
      await res.arrayBuffer();
    },

    /** body: string | Uint8Array | ArrayBuffer | Blob. Returns { status, etag }. */
    async putObject(bucket, key, body, contentType = contentTypeFor(key)) {
      const res = await request("PUT", bucket, key, {
        body,
        headers: { "content-type": contentType },
      });
      await expectOk(res, `putObject ${bucket}/${key}`);
      await res.arrayBuffer();
      return { status: res.status, etag: res.headers.get("etag") };
    },

    /** init: fetch init (headers such as Range, method "HEAD"); returns the raw Response. */
    getObject(bucket, key, init = {}) {
      return request(init.method ?? "GET", bucket, key, init);
    },

    headObject(bucket, key, init = {}) {
      return request("HEAD", bucket, key, init);
    },

    async deleteObject(bucket, key) {
      const res = await request("DELETE", bucket, key);
      await expectOk(res, `deleteObject ${bucket}/${key}`, [404]);
      await res.arrayBuffer();
    },

    /** Upload every file under localDir; keys are paths relative to it (with "/"), after prefix. */
    async uploadDir(bucket, localDir, prefix = "") {
      const keys = [];
      for await (const path of walk(localDir)) {
        const key = prefix + relative(localDir, path).split(sep).join("/");
        // Whole file in memory: S3 PUT needs a Content-Length, which node's fetch only sends for
        // known-size bodies. Fine for test fixtures (a 120 MB file took well under a second here).
        await this.putObject(bucket, key, await readFile(path), contentTypeFor(key));
        keys.push(key);
      }
      return keys;
    },
  };
}

export function s3ClientFromEnv(env = process.env) {
  const missing = ["S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"].filter((k) => !env[k]);
  if (missing.length) {
    throw new Error(`missing ${missing.join(", ")} (try: eval "$(scripts/s3-origin.sh env | sed 's/^/export /')")`);
  }
  return s3Client({
    endpoint: env.S3_ENDPOINT,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    region: env.S3_REGION || "us-east-1",
  });
}

async function main(argv) {
  const [command, bucket, dir, prefix = ""] = argv;
  if (command !== "upload-dir" || !bucket || !dir) {
    console.error("usage: node scripts/s3-client.mjs upload-dir BUCKET DIR [PREFIX]");
    process.exit(2);
  }
  const s3 = s3ClientFromEnv();
  await s3.createBucket(bucket);
  const keys = await s3.uploadDir(bucket, dir, prefix);
  console.log(`uploaded ${keys.length} files to ${bucket}${prefix ? "/" + prefix : ""}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err.message ?? err);
    process.exit(1);
  });
}
