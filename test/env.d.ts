/**
 * The type of `env` from "cloudflare:test" in the workerd projects of vitest.config.ts, so that tests use it
 * without casts. "unit" and "workers" get wrangler.toml's bindings and vars (the cache worker's Env); "admin" gets
 * wrangler.admin.toml's (AdminEnv) plus the D1 migrations. Both configurations bind NAR_BUCKET and DENYLIST.
 */
import type { D1Migration } from "cloudflare:test";
import type { AdminEnv } from "../src/admin/env";
import type { Env as CacheEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends CacheEnv, AdminEnv {
      NAR_BUCKET: R2Bucket;
      DENYLIST: KVNamespace;
      /** "admin" project only: migrations/admin, read by vitest.config.ts, applied by test/admin/freshStorage.ts. */
      TEST_MIGRATIONS?: D1Migration[];
    }
  }
}
