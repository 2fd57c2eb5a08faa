/** Applies migrations/admin/ to the test D1 database, as `wrangler d1 migrations apply` does for a deployment. */
import { applyD1Migrations, env } from "cloudflare:test";

if (!env.AUDIT || !env.TEST_MIGRATIONS)
  throw new Error("the admin project binds AUDIT and TEST_MIGRATIONS (vitest.config.ts)");
await applyD1Migrations(env.AUDIT, env.TEST_MIGRATIONS);
