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

/** Puts every file under `cacheDir` into `bucket`, keyed by its path relative to `cacheDir`. Returns the keys. */
export async function seedR2({ persistTo, bucket, cacheDir, prefix = "" }) {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    // wrangler dev keeps its local state under <persist-to>/v3, keyed by bucket_name.
    defaultPersistRoot: join(persistTo, "v3"),
    r2Buckets: { BUCKET: bucket },
  });
  const keys = [];
  try {
    const r2 = await mf.getR2Bucket("BUCKET");
    for await (const path of walk(cacheDir)) {
      const key = prefix + relative(cacheDir, path).split("\\").join("/");
      await r2.put(key, new Uint8Array(await readFile(path)), { httpMetadata: { contentType: contentTypeFor(key) } });
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
