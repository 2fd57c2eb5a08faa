// infra/cloudflare/provision.mjs: the dry-run plan (and that it never touches the network),
// and idempotent application against an in-memory fake of the Cloudflare API.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain .mjs script, no type declarations
import { cloudflareApi, loadPlan, provision } from "../cloudflare/provision.mjs";
import { fixture, infraDir } from "./nix";

const script = path.join(infraDir, "cloudflare", "provision.mjs");
const noFetch = fixture("no-fetch.mjs");

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ["--import", noFetch, script, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH!, ...env },
  });
}

describe("provision.mjs --dry-run", () => {
  it("prints the plan for the test inventory without network access", () => {
    const r = run(["--dry-run", "--inventory", fixture("inventory.nix")]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "dry run: no API calls; every resource is listed, whether or not it exists",
      "account 0123456789abcdef0123456789abcdef",
      "ensure r2 bucket nix-cache (production, binding NAR_BUCKET): NARs, narinfos, .ls and logs; Hydra uploads, the cache worker reads",
      "ensure kv namespace nix-cache-denylist (production, binding DENYLIST): store-path hashes the cache worker refuses to serve; the admin worker writes it",
      "ensure d1 database nix-cache-audit (production, binding AUDIT): the admin worker's audit trail",
      "check  custom domain cache.example-nix.org -> nix-cache-edge (attached by `wrangler deploy --env production`): cache worker for production",
      "check  custom domain cache-admin.example-nix.org -> nix-cache-admin (attached by `wrangler deploy --env production`): admin worker for production",
    ]);
    expect(lines).toContain("ensure dns example-nix.org: MX example-nix.org 10 mx.example-nix.org ; mail for example-nix.org is received by mx");
    expect(lines).toContain("ensure dns example-nix.org: A hydra.example-nix.org 192.0.2.10 ; host hydra (hydra, hetzner-cloud)");
    expect(lines).toContain('ensure dns example-nix.dev: CAA example-nix.dev 0 issue "letsencrypt.org" ; only letsencrypt.org may issue certificates');
    expect(lines.filter((l) => l.startsWith("ensure dns "))).toHaveLength(13); // org: 6 host, HELO SPF, MX, SPF, DKIM, DMARC, CAA; dev: CAA
  });

  it("covers both environments of the real inventory, and --env narrows to one", () => {
    const all = run(["--dry-run"]).stdout;
    expect(all).toContain("ensure r2 bucket nix-cache-staging (staging");
    expect(all).toContain("check  custom domain cache-staging.example-nix.org -> nix-cache-edge-staging (attached by `wrangler deploy --env staging`)");
    const staging = run(["--dry-run", "--env", "staging"]).stdout;
    expect(staging).not.toContain("ensure r2 bucket nix-cache (production");
    expect(staging).toContain("ensure kv namespace nix-cache-denylist-staging");
  });

  it("without --dry-run does reach for the network (so the dry-run test above means something)", () => {
    const r = run(["--inventory", fixture("inventory.nix")], {
      CLOUDFLARE_API_TOKEN: "test",
      CLOUDFLARE_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("network call attempted");
  });

  it("fails clearly on an invalid inventory", () => {
    const r = run(["--dry-run", "--inventory", fixture("invalid", "no-systems.nix")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('host "arm": no systems');
  });
});

// A fake Cloudflare API holding state, answering the endpoints provision.mjs uses.
function fakeCloudflare(zones: Record<string, string>) {
  const state = {
    buckets: [] as { name: string }[],
    kv: [] as { id: string; title: string }[],
    d1: [] as { uuid: string; name: string }[],
    customDomains: [] as { hostname: string; service: string }[],
    dns: {} as Record<string, Record<string, unknown>[]>,
    writes: [] as string[],
  };
  let n = 0;
  const ok = (result: unknown, extra = {}) => new Response(JSON.stringify({ success: true, errors: [], result, ...extra }));
  const fetch = async (url: string, init: { method: string; body?: string }) => {
    const u = new URL(url);
    const p = u.pathname.replace("/client/v4", "");
    const body = init.body ? JSON.parse(init.body) : undefined;
    if (init.method !== "GET") state.writes.push(`${init.method} ${p}`);
    const page = Number(u.searchParams.get("page") ?? 1);
    const paged = (xs: unknown[]) => ok(page === 1 ? xs : [], { result_info: { page, total_pages: 1 } });
    let m: RegExpMatchArray | null;
    if (p.endsWith("/r2/buckets")) {
      if (init.method === "GET") return ok({ buckets: state.buckets });
      state.buckets.push({ name: body.name });
      return ok({ name: body.name });
    }
    if (p.endsWith("/storage/kv/namespaces")) {
      if (init.method === "GET") return paged(state.kv);
      const ns = { id: `kv${++n}`, title: body.title };
      state.kv.push(ns);
      return ok(ns);
    }
    if (p.endsWith("/d1/database")) {
      if (init.method === "GET") return paged(state.d1);
      const db = { uuid: `d1-${++n}`, name: body.name };
      state.d1.push(db);
      return ok(db);
    }
    if (p === "/zones") return ok(zones[u.searchParams.get("name")!] ? [{ id: zones[u.searchParams.get("name")!] }] : []);
    if (p.endsWith("/workers/domains") && init.method === "GET") return ok(state.customDomains);
    if ((m = p.match(/^\/zones\/([^/]+)\/dns_records(?:\/(.+))?$/))) {
      const rs = (state.dns[m[1]!] ??= []);
      if (init.method === "GET") return paged(rs);
      if (init.method === "POST") rs.push({ id: `d${++n}`, ...body });
      else Object.assign(rs.find((r) => r.id === m![2])!, body);
      return ok({});
    }
    return new Response(JSON.stringify({ success: false, errors: [{ code: 7003, message: `no route ${p}` }] }), { status: 404 });
  };
  return { state, fetch };
}

describe("provision() against a fake Cloudflare API", () => {
  const plan = loadPlan(fixture("inventory.nix"));
  const accountId = "0123456789abcdef0123456789abcdef";
  const zones = { "example-nix.org": "zone-org", "example-nix.dev": "zone-dev" };

  it("creates everything on the first run and nothing on the second", async () => {
    const cf = fakeCloudflare(zones);
    const api = cloudflareApi({ token: "t", fetch: cf.fetch });
    const first = await provision(plan, { api, accountId, log: () => {} });
    expect(first.filter((a: string) => a.startsWith("create"))).toHaveLength(1 + 1 + 1 + 13); // bucket, namespace, database, records
    expect(cf.state.buckets.map((b) => b.name)).toEqual(["nix-cache"]);
    expect(cf.state.kv.map((k) => k.title)).toEqual(["nix-cache-denylist"]);
    expect(cf.state.d1.map((d) => d.name)).toEqual(["nix-cache-audit"]);
    // Custom domains are wrangler's to attach: reported, never written.
    expect(first.pending).toEqual([
      "todo   custom domain cache.example-nix.org -> nix-cache-edge: run `wrangler deploy --env production`",
      "todo   custom domain cache-admin.example-nix.org -> nix-cache-admin: run `wrangler deploy --env production`",
    ]);
    expect(cf.state.writes.some((w) => w.includes("workers"))).toBe(false);

    cf.state.customDomains.push({ hostname: "cache.example-nix.org", service: "nix-cache-edge" }, { hostname: "cache-admin.example-nix.org", service: "nix-cache-admin" });
    const writes = cf.state.writes.length;
    const second = await provision(plan, { api, accountId, log: () => {} });
    expect(second.every((a: string) => a.startsWith("ok"))).toBe(true);
    expect(second.pending).toEqual([]);
    expect(cf.state.writes.length).toBe(writes);
  });

  it("prints the KV and D1 ids wrangler.toml needs", async () => {
    const cf = fakeCloudflare(zones);
    const logs: string[] = [];
    await provision(plan, { api: cloudflareApi({ token: "t", fetch: cf.fetch }), accountId, log: (l: string) => logs.push(l) });
    expect(logs).toContain(`id     kv production DENYLIST = ${cf.state.kv[0]!.id}  (for wrangler.toml)`);
    expect(logs).toContain(`id     d1 production AUDIT = ${cf.state.d1[0]!.uuid}  (for wrangler.toml)`);
  });

  it("updates a moved host in place, flags a custom domain on the wrong worker, and leaves unknown records alone", async () => {
    const cf = fakeCloudflare(zones);
    const api = cloudflareApi({ token: "t", fetch: cf.fetch });
    await provision(plan, { api, accountId, log: () => {} });
    const a = cf.state.dns["zone-org"]!.find((r) => r.type === "A" && r.name === "hydra.example-nix.org")!;
    a.content = "198.51.100.1";
    cf.state.customDomains.push({ hostname: "cache.example-nix.org", service: "something-else" });
    cf.state.dns["zone-org"]!.push({ id: "foreign", type: "TXT", name: "example-nix.org", content: "google-site-verification=x" });

    const logs: string[] = [];
    const actions = await provision(plan, { api, accountId, log: (l: string) => logs.push(l) });
    expect(actions.filter((x: string) => !x.startsWith("ok"))).toEqual(["update dns A hydra.example-nix.org 192.0.2.10 (was 198.51.100.1)"]);
    expect(a.content).toBe("192.0.2.10");
    expect(actions.pending[0]).toBe(
      "wrong  custom domain cache.example-nix.org -> something-else, expected nix-cache-edge: fix wrangler.toml, then `wrangler deploy --env production`",
    );
    expect(logs).toContain("unmanaged dns TXT example-nix.org google-site-verification=x (left alone)");
    expect(cf.state.dns["zone-org"]!.some((r) => r.id === "foreign")).toBe(true);
  });

  it("treats differently spelled IPv6 and quoted TXT from the API as the same record", async () => {
    const cf = fakeCloudflare(zones);
    const api = cloudflareApi({ token: "t", fetch: cf.fetch });
    await provision(plan, { api, accountId, log: () => {} });
    const aaaa = cf.state.dns["zone-org"]!.find((r) => r.type === "AAAA" && r.name === "hydra.example-nix.org")!;
    aaaa.content = "2001:0db8:0:0::10";
    const spf = cf.state.dns["zone-org"]!.find((r) => r.type === "TXT" && r.name === "example-nix.org")!;
    spf.content = '"v=spf1 mx -all"';
    const writes = cf.state.writes.length;
    await provision(plan, { api, accountId, log: () => {} });
    expect(cf.state.writes.length).toBe(writes);
  });

  it("refuses an account other than the inventory's", async () => {
    const cf = fakeCloudflare(zones);
    const api = cloudflareApi({ token: "t", fetch: cf.fetch });
    await expect(provision(plan, { api, accountId: "ffffffffffffffffffffffffffffffff", log: () => {} })).rejects.toThrow(
      /inventory's cloudflare.accountId is 0123456789abcdef0123456789abcdef; refusing/,
    );
    expect(cf.state.writes).toEqual([]);
  });

  it("surfaces API errors with the endpoint", async () => {
    const api = cloudflareApi({
      token: "t",
      fetch: async () => new Response(JSON.stringify({ success: false, errors: [{ code: 10000, message: "Authentication error" }] }), { status: 403 }),
    });
    await expect(provision(plan, { api, accountId, log: () => {} })).rejects.toThrow(
      "GET /accounts/0123456789abcdef0123456789abcdef/r2/buckets: 10000 Authentication error",
    );
  });
});
