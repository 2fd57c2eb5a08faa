/**
 * The e2e tests run the cache worker's bundle under Miniflare with the bindings test/e2e/globalSetup.ts reads from
 * wrangler.toml's top level through wrangler. These tests pin that reading: the local demo's bindings all arrive,
 * and a config binding a kind the harness does not pass on (the admin worker's D1 database) is refused rather than
 * silently run without it.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/lib/processes.mjs";
import { demoBindings } from "../e2e/globalSetup";

describe("the e2e harness's bindings (test/e2e/globalSetup.ts)", () => {
  it("are wrangler.toml's top level: vars, the R2 bucket, the denylist KV and the metrics dataset", () => {
    const b = demoBindings(join(REPO_ROOT, "wrangler.toml"));
    expect(b.compatibilityDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(b.r2Buckets).toEqual({ NAR_BUCKET: { id: "nix-cache-demo" } });
    expect(b.kvNamespaces).toEqual({ DENYLIST: { id: "nix-cache-denylist-local" } });
    expect(Object.keys(b.analyticsEngineDatasets)).toEqual(["METRICS"]);
    // Vars as wrangler dev passes them: strings, and the TOML array ORIGINS as JSON.
    expect(b.bindings.ORIGINS).toEqual([{ type: "r2", binding: "NAR_BUCKET" }]);
    expect(b.bindings.DENYLIST_REFRESH_SECONDS).toBe("30");
    expect(typeof b.bindings.TRUSTED_PUBLIC_KEYS).toBe("string");
  });

  it("refuse a config with a binding kind they do not pass on", () => {
    expect(() => demoBindings(join(REPO_ROOT, "wrangler.admin.toml"))).toThrow(/d1Databases/);
  });
});
