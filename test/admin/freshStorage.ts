/**
 * Runs before each admin test file. The files share one runtime (vitest.config.ts, `isolate: false`), so this gives
 * each the storage a runtime of its own would: migrations/admin/ applied to the test D1 database (as
 * `wrangler d1 migrations apply` does for a deployment; already-applied ones are skipped), then no audit rows, no
 * blocks, no hook events, an empty published denylist, an empty R2 bucket, and the real `fetch` again at the end.
 * The denylist's version only grows, as in production, so that no isolate keeps an older document for newer.
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { afterAll, vi } from "vitest";
import { emptyBucket } from "../integration/harness";
import { clearBlocks } from "./harness";

if (!env.AUDIT || !env.TEST_MIGRATIONS)
  throw new Error("the admin project binds AUDIT and TEST_MIGRATIONS (vitest.config.ts)");
await applyD1Migrations(env.AUDIT, env.TEST_MIGRATIONS);
await env.AUDIT.batch([env.AUDIT.prepare("DELETE FROM audit"), env.AUDIT.prepare("DELETE FROM hook_events")]);
for (;;) {
  const listed = await env.DENYLIST.list();
  await Promise.all(listed.keys.map((k) => env.DENYLIST.delete(k.name)));
  if (listed.list_complete) break;
}
await clearBlocks();
await emptyBucket(env.NAR_BUCKET);

afterAll(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});
