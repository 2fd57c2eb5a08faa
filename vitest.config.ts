import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Three kinds of test, mirroring src/: pure core and integration tests run inside workerd;
// end-to-end tests drive `wrangler dev` with a real Nix client and a real S3 server from node.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
          globalSetup: ["test/integration/globalSetup.ts"],
          // The worker logs one JSON line per event; show them only for failing tests.
          silent: "passed-only",
        },
      },
      {
        // The admin worker (wrangler.admin.toml) with the cache worker's handler imported into the same isolate:
        // both see the same caches.default, KV denylist and R2 bucket, as on one zone in production.
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.admin.toml" },
            miniflare: { bindings: { TEST_MIGRATIONS: await readD1Migrations("./migrations/admin") } },
          })),
        ],
        test: {
          name: "admin",
          include: ["test/admin/**/*.test.ts"],
          globalSetup: ["test/integration/globalSetup.ts"],
          setupFiles: ["test/admin/applyMigrations.ts"],
          // Files share the KV denylist and the audit table; one at a time keeps their assertions independent.
          fileParallelism: false,
          silent: "passed-only",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        // The admin page in Debian's headless Chromium (playwright-core) against wrangler dev.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: "infra",
          include: ["infra/test/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
        },
      },
    ],
  },
});
