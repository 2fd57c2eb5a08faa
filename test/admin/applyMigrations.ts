/** Applies migrations/admin/ to the test D1 database, as `wrangler d1 migrations apply` does for a deployment. */
import { applyD1Migrations, env, type D1Migration } from "cloudflare:test";

const bindings = env as unknown as { AUDIT: D1Database; TEST_MIGRATIONS: D1Migration[] };
await applyD1Migrations(bindings.AUDIT, bindings.TEST_MIGRATIONS);
