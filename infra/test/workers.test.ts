// The workers' per-environment values come from the inventory (lib/workers.nix): wrangler.toml and
// wrangler.admin.toml are read with wrangler's own parser and every value tied to the inventory is compared.
// Keys, bucket names, KV/D1 ids, hostnames and the zone each fail this test on any difference.
import path from "node:path";
import { experimental_readRawConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { evalInfra, infraDir } from "./nix";

type Expected = {
  name: string;
  vars: Record<string, string | null>;
  r2_buckets: Record<string, string>;
  kv_namespaces: Record<string, string | null>;
  d1_databases?: Record<string, { database_name: string; database_id: string | null }>;
};
type Raw = Record<string, unknown> & { env?: Record<string, Record<string, unknown>> };
type Binding = { binding: string; [k: string]: unknown };

const repo = path.resolve(infraDir, "..");
const readRaw = (file: string) => experimental_readRawConfig({ config: path.join(repo, file) }).rawConfig as Raw;
const byBinding = (list: unknown) => new Map(((list as Binding[] | undefined) ?? []).map((b) => [b.binding, b]));

/** Every difference between one wrangler environment and what the inventory says it must be. */
function mismatches(where: string, env: Record<string, unknown> | undefined, want: Expected): string[] {
  if (!env) return [`${where}: environment missing`];
  const out: string[] = [];
  const differ = (what: string, got: unknown, expected: unknown) => {
    if (got !== expected)
      out.push(`${where}: ${what} is ${JSON.stringify(got)}, the inventory says ${JSON.stringify(expected)}`);
  };
  differ("name", env.name, want.name);
  const vars = (env.vars ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(want.vars)) differ(`vars.${k}`, vars[k], v);
  const r2 = byBinding(env.r2_buckets);
  for (const [b, v] of Object.entries(want.r2_buckets)) differ(`r2_buckets ${b}`, r2.get(b)?.bucket_name, v);
  const kv = byBinding(env.kv_namespaces);
  for (const [b, v] of Object.entries(want.kv_namespaces)) differ(`kv_namespaces ${b}`, kv.get(b)?.id, v);
  const d1 = byBinding(env.d1_databases);
  for (const [b, v] of Object.entries(want.d1_databases ?? {})) {
    differ(`d1_databases ${b} database_name`, d1.get(b)?.database_name, v.database_name);
    differ(`d1_databases ${b} database_id`, d1.get(b)?.database_id, v.database_id);
  }
  // Custom domains have one writer, OpenTofu (lib/tofu.nix); a route here would be a second.
  if (env.routes !== undefined || env.route !== undefined)
    out.push(`${where}: declares routes; the custom domains are OpenTofu's (infra/lib/tofu.nix)`);
  return out;
}

const workers = evalInfra<Record<string, { cache: Expected; admin: Expected }>>("workers");
const configs = { cache: readRaw("wrangler.toml"), admin: readRaw("wrangler.admin.toml") };

describe("wrangler configs against the inventory", () => {
  it("have exactly the inventory's environments", () => {
    expect(Object.keys(workers).sort()).toEqual(["production", "staging"]);
    for (const raw of Object.values(configs))
      expect(Object.keys(raw.env ?? {}).sort()).toEqual(Object.keys(workers).sort());
  });

  it.each(["production", "staging"])("%s: every inventory-tied value matches, in both workers", (env) => {
    const w = workers[env]!;
    expect(mismatches(`wrangler.toml env.${env}`, configs.cache.env?.[env], w.cache)).toEqual([]);
    expect(mismatches(`wrangler.admin.toml env.${env}`, configs.admin.env?.[env], w.admin)).toEqual([]);
  });

  it("trust the key Hydra signs with, so its uploads verify at the edge", () => {
    const hydraKeys = evalInfra<{ cache: { publicKeys: string[] } }>("inventory").cache.publicKeys;
    for (const raw of Object.values(configs)) {
      const keys = String((raw.env!.production!.vars as Record<string, string>).TRUSTED_PUBLIC_KEYS).split(" ");
      for (const k of hydraKeys) expect(keys).toContain(k);
    }
  });

  it.each([
    [
      "a key missing",
      (e: Raw) =>
        ((e.vars as Record<string, string>).TRUSTED_PUBLIC_KEYS =
          "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="),
      "vars.TRUSTED_PUBLIC_KEYS",
    ],
    [
      "another bucket",
      (e: Raw) => ((e.r2_buckets as Binding[])[0]!.bucket_name = "nix-cache-old"),
      "r2_buckets NAR_BUCKET",
    ],
    [
      "another hostname",
      (e: Raw) => ((e.vars as Record<string, string>).PUBLIC_URL = "https://cache.example-nix.net"),
      "vars.PUBLIC_URL",
    ],
    [
      "another zone",
      (e: Raw) => ((e.vars as Record<string, string>).CLOUDFLARE_ZONE_ID = "0".repeat(32)),
      "vars.CLOUDFLARE_ZONE_ID",
    ],
    ["another KV id", (e: Raw) => ((e.kv_namespaces as Binding[])[0]!.id = "f".repeat(32)), "kv_namespaces DENYLIST"],
    [
      "another D1 id",
      (e: Raw) => ((e.d1_databases as Binding[])[0]!.database_id = "x"),
      "d1_databases AUDIT database_id",
    ],
    [
      "a route",
      (e: Raw) => (e.routes = [{ pattern: "cache-admin.example-nix.org", custom_domain: true }]),
      "declares routes",
    ],
  ])("catch %s", (_what, mutate, message) => {
    const env = structuredClone(configs.admin.env!.production!) as Raw;
    mutate(env);
    const found = mismatches("wrangler.admin.toml env.production", env, workers.production!.admin);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });
});
