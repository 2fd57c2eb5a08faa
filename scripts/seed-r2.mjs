// Uploads a directory laid out by `nix copy --to file://…` into the local R2 bucket that `wrangler dev` uses
// (the same Miniflare persistence `wrangler r2 object put --local` writes to). Usable as a module and a CLI:
//   node scripts/seed-r2.mjs <persist dir> <bucket name> <cache dir>
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";
import { contentTypeFor } from "./lib/content-type.mjs";

export { contentTypeFor };

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

// The objects go in through a worker's own R2 binding, each file as one request body: Miniflare's node-side
// `getR2Bucket()` proxy passes a body through its own serialisation, which takes seconds per 100 MiB.
const SEEDER = `export default {
  async fetch(request, env) {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    // R2 wants a body of known length; Miniflare's entry worker passes the request on as a plain stream.
    const sized = new FixedLengthStream(Number(request.headers.get("x-length")));
    const piped = request.body.pipeTo(sized.writable);
    const contentType = request.headers.get("content-type");
    await Promise.all([env.BUCKET.put(key, sized.readable, { httpMetadata: { contentType } }), piped]);
    return new Response(null, { status: 204 });
  },
};`;

/** Puts every file under `cacheDir` into `bucket`, keyed by its path relative to `cacheDir`. Returns the keys. */
export async function seedR2({ persistTo, bucket, cacheDir, prefix = "" }) {
  const mf = new Miniflare({
    modules: true,
    script: SEEDER,
    // wrangler dev keeps its local state under <persist-to>/v3, keyed by bucket_name.
    defaultPersistRoot: join(persistTo, "v3"),
    r2Buckets: { BUCKET: bucket },
  });
  const keys = [];
  try {
    for await (const path of walk(cacheDir)) {
      const key = prefix + relative(cacheDir, path).split("\\").join("/");
      const body = await readFile(path);
      const response = await mf.dispatchFetch(`http://seed/${encodeURIComponent(key)}`, {
        method: "PUT",
        body,
        headers: { "content-type": contentTypeFor(key), "x-length": String(body.byteLength) },
      });
      if (response.status !== 204) throw new Error(`seeding ${key}: ${response.status} ${await response.text()}`);
      keys.push(key);
    }
  } finally {
    await mf.dispose();
  }
  return keys;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [persistTo, bucket, cacheDir] = process.argv.slice(2);
  if (!persistTo || !bucket || !cacheDir) {
    console.error("usage: node scripts/seed-r2.mjs <persist dir> <bucket name> <cache dir>");
    process.exit(2);
  }
  const keys = await seedR2({ persistTo, bucket, cacheDir });
  console.log(`seeded ${keys.length} objects into local R2 bucket ${bucket}`);
}
