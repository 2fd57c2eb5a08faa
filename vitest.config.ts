import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

// Nix run as root builds as the users of `build-users-group` (default nixbld). Debian creates them only with
// nix-setup-systemd, which nix-bin merely recommends (.ci/run installs without recommends); without the group every
// Nix command warns about it and every build fails. Then the tests' Nix (e2e builds, infra evaluations) builds as
// root, as a single-user install does. Child processes inherit this.
const nixbldExists = /^nixbld:/m.test(readFileSync("/etc/group", "utf8"));
if (process.getuid?.() === 0 && !nixbldExists && !/build-users-group/.test(process.env.NIX_CONFIG ?? "")) {
  process.env.NIX_CONFIG = [process.env.NIX_CONFIG, "build-users-group ="].filter(Boolean).join("\n");
}

/**
 * The order in which the projects' files start. vitest's own order is by project name, which put the longest file of
 * all (test/e2e/substitute.test.ts, mostly waiting on Nix and S3) behind two other projects: the suite then ended
 * with it running alone. Files that take longest start first; the short workerd and node files fill the gaps.
 */
const PROJECT_ORDER = ["e2e", "browser", "workers", "infra", "admin", "unit", "node", "repo"];

class LongestProjectsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = PROJECT_ORDER.indexOf(f.project.name);
      if (i < 0) throw new Error(`vitest.config.ts: project ${f.project.name} is missing from PROJECT_ORDER`);
      return i;
    };
    // Array sort is stable: within a project, vitest's own order (slowest first when it knows the durations).
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

// Three kinds of test, mirroring src/: pure core and integration tests run inside workerd;
// end-to-end tests drive the deployed bundle in workerd (and both workers under `wrangler dev`) with a real Nix
// client and a real S3 server from node.
export default defineConfig({
  test: {
    // Console output is captured per test and shown only for a failing one. (Set here: the reporter reads the root
    // config, not the projects'.) workerd's own runtime messages go to .tmp/workerd.log (test/workerdLog.ts).
    silent: "passed-only",
    // A green run lists only tests slower than this (vitest's default 300 ms lists dozens on a loaded machine).
    slowTestThreshold: 10_000,
    // Files of different projects run side by side: the e2e files mostly wait on Nix, workerd and S3, so the
    // workerd and infra tests fill that time. (vitest's default on 2 cores would be one file at a time.)
    maxWorkers: 3,
    sequence: { sequencer: LongestProjectsFirst },
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
          }),
        ],
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Pure functions only (no storage, no module state that outlives a call): the files share one runtime
          // instead of starting a workerd each (~1.3 CPU-s a file on this machine, most of the project's time).
          isolate: false,
          globalSetup: ["test/workerdLog.ts"],
          setupFiles: ["test/unit/hashEquality.ts"],
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/integration/**/*.test.ts"],
          // A hang guard, not a speed target (those live in bench/): a loaded 2-core machine runs the heavier
          // tests (32 MiB multipart backfill) well past vitest's default 5 s.
          testTimeout: 60_000,
          globalSetup: ["test/workerdLog.ts", "test/integration/globalSetup.ts"],
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
          testTimeout: 60_000,
          globalSetup: ["test/workerdLog.ts", "test/integration/globalSetup.ts"],
          // The files share one runtime (a workerd start costs ~1.3 CPU-s a file here); test/admin/freshStorage.ts
          // gives each file empty storage first: no audit rows, blocks or hook events, an empty denylist and bucket.
          // (The edge cache needs no reset: every test's env has a PUBLIC_URL of its own, harness.ts envs.)
          // (`fileParallelism: false` would put the project after every other one: vitest runs such projects last,
          // one file at a time, which adds their whole time to the suite's wall time.)
          isolate: false,
          setupFiles: ["test/admin/freshStorage.ts"],
        },
      },
      {
        // Node-side helpers shared by scripts/, bench/ and test/e2e (no Nix, no S3, no workerd).
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // The e2e files share nothing (own temp dirs, ports, dev registry, salted store paths or a chroot store),
          // so they run beside each other and beside the other projects.
          setupFiles: ["test/e2e/setup.ts"],
          // The cache worker's deploy bundle, built once for every file's workers (test/e2e/globalSetup.ts).
          globalSetup: ["test/e2e/globalSetup.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        // Checks over the repository's own text (e.g. every cited file exists), in node.
        test: {
          name: "repo",
          include: ["test/docs/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        // The admin page in Debian's headless Chromium (playwright-core) against wrangler dev.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          // As in e2e: what its `wrangler dev` printed during a failing test is shown with it.
          setupFiles: ["test/e2e/setup.ts"],
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
