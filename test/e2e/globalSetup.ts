/**
 * Runs once per test run, in node, before the e2e files: bundles the cache worker exactly as `wrangler deploy` would
 * upload it (`wrangler deploy --dry-run --outdir`, as bench/run.mjs does) and reads the bindings of wrangler.toml's
 * top level (the local demo: vars, the NAR_BUCKET R2 bucket, the DENYLIST KV namespace, METRICS) through wrangler's
 * own reading of the config. test/e2e/harness.ts `startWorker` runs that bundle with those bindings under Miniflare
 * (scripts/lib/worker-server.mjs), once per scenario, with the scenario's vars over them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { bundleCacheWorker, REPO_ROOT } from "../../scripts/lib/processes.mjs";
import { WRANGLER_ENV } from "../../scripts/wrangler-env.mjs";

/** What `startWorker` needs to run the cache worker as deployed, in the local demo's configuration. */
export interface CacheWorkerBundle {
  scriptPath: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  bindings: Record<string, unknown>;
  r2Buckets: Record<string, unknown>;
  kvNamespaces: Record<string, unknown>;
  analyticsEngineDatasets: Record<string, unknown>;
}

/** The kinds of binding passed on to Miniflare; `demoBindings` refuses a config that has any other kind. */
const PASSED = ["bindings", "r2Buckets", "kvNamespaces", "analyticsEngineDatasets"] as const;
/** Worker options that are not bindings (module rules only matter to a build; the bundle is built). */
const NOT_BINDINGS = ["compatibilityDate", "compatibilityFlags", "modulesRules"];

/**
 * The top-level bindings of a wrangler config as Miniflare options. Throws when the config binds anything of a kind
 * not passed on (a D1 database, a service, ...), so the tests never run a worker that lacks a binding it has.
 */
export function demoBindings(configPath: string): Omit<CacheWorkerBundle, "scriptPath"> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  const options = workerOptions as unknown as Record<string, unknown>;
  const dropped = Object.entries(options)
    .filter(([key]) => !(PASSED as readonly string[]).includes(key) && !NOT_BINDINGS.includes(key))
    .filter(([, value]) => value !== null && typeof value === "object" && isBinding(value))
    .map(([key]) => key);
  if (dropped.length > 0) {
    throw new Error(`${configPath} binds ${dropped.join(", ")}, which the e2e harness does not pass to Miniflare`);
  }
  const pick = (key: (typeof PASSED)[number]) => (options[key] ?? {}) as Record<string, unknown>;
  return {
    compatibilityDate: String(workerOptions.compatibilityDate),
    compatibilityFlags: [...(workerOptions.compatibilityFlags ?? [])],
    bindings: pick("bindings"),
    r2Buckets: pick("r2Buckets"),
    kvNamespaces: pick("kvNamespaces"),
    analyticsEngineDatasets: pick("analyticsEngineDatasets"),
  };
}

/** A non-empty binding table (an object or array with entries; `email.send_email: []` counts as empty). */
function isBinding(value: object): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Object.values(value).some((v) => (v !== null && typeof v === "object" ? isBinding(v) : v !== undefined));
}

let outDir: string | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  outDir = await mkdtemp(join(tmpdir(), "nix-edge-e2e-bundle-"));
  const scriptPath = await bundleCacheWorker(outDir, { env: WRANGLER_ENV });
  project.provide("cacheWorker", {
    scriptPath,
    ...demoBindings(join(REPO_ROOT, "wrangler.toml")),
  });
  return async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The cache worker's deploy bundle and the local demo's bindings (test/e2e/globalSetup.ts). */
    cacheWorker: CacheWorkerBundle;
  }
}
