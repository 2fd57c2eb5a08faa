#!/usr/bin/env node
// Creates the Cloudflare resources the workers need, and the DNS derived from the inventory.
//
//   node infra/cloudflare/provision.mjs --dry-run      print the plan; no network access at all
//   node infra/cloudflare/provision.mjs                apply it
//
// What it manages (all read from `nix-instantiate --eval --strict --json infra/eval.nix -A cloudflare`):
//   R2 buckets (NAR_BUCKET), KV namespaces (DENYLIST), D1 databases (AUDIT), DNS records of
//   every zone in the inventory. It creates these.
//   The workers' hostnames (cache.<domain>, cache-admin.<domain>, per environment) are Workers
//   Custom Domains declared in wrangler.toml and attached by `wrangler deploy`; this script
//   only checks them and prints the deploy that is missing, so each resource has one writer.
// Idempotent: it lists what exists and creates only what is missing; a DNS record whose
// name exists with other content is updated in place. It never deletes: records and
// resources it does not know are reported as unmanaged and left alone, because the zone may
// hold records this repository does not own.
//
// Environment (apply only): CLOUDFLARE_API_TOKEN (Account: R2 edit, Workers KV edit, D1 edit,
// Workers Scripts read; Zone: DNS edit, Zone read), CLOUDFLARE_ACCOUNT_ID (must equal the inventory's accountId),
// CLOUDFLARE_ZONE_IDS="example-nix.org=<id>,example-nix.net=<id>" (optional: zones missing
// from it are looked up by name).
//
// Options: --inventory <file> evaluates another inventory (tests); --env <name> limits
// buckets, namespaces, databases and custom domains to one environment (DNS is shared).

import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const API = "https://api.cloudflare.com/client/v4";
const evalNix = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "eval.nix");

export function loadPlan(inventoryFile) {
  const args = ["--eval", "--strict", "--json", evalNix, "-A", "cloudflare"];
  if (inventoryFile) args.push("--argstr", "inventoryFile", path.resolve(inventoryFile));
  return JSON.parse(execFileSync("nix-instantiate", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
}

export function filterEnv(plan, env) {
  if (!env) return plan;
  const only = (xs) => xs.filter((x) => x.env === env);
  return { ...plan, r2Buckets: only(plan.r2Buckets), kvNamespaces: only(plan.kvNamespaces), d1Databases: only(plan.d1Databases), customDomains: only(plan.customDomains) };
}

const describeRecord = (r) =>
  `${r.type} ${r.name} ${r.data ? `${r.data.flags} ${r.data.tag} "${r.data.value}"` : r.priority != null ? `${r.priority} ${r.content}` : r.content}` +
  (r.proxied ? " (proxied)" : "");

// Same record? Type and name select the record set, the value (content or CAA data, and the
// MX priority) decides whether it already exists. Cloudflare may return TXT content quoted.
// Cloudflare answers AAAA content in its own notation; compare addresses, not spellings.
const expandIPv6 = (a) => {
  const [l, r = null] = a.toLowerCase().split("::");
  const left = l ? l.split(":") : [];
  const right = r ? r.split(":") : [];
  const groups = r === null ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.map((g) => g.padStart(4, "0")).join(":");
};
const normalise = (type, content) => (type === "AAAA" ? expandIPv6(content) : content.toLowerCase());
const unquote = (s) => (typeof s === "string" && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/" "/g, "") : s);
const sameValue = (want, have) =>
  want.data
    ? have.data && Number(have.data.flags) === want.data.flags && have.data.tag === want.data.tag && have.data.value === want.data.value
    : have.content != null && normalise(want.type, unquote(have.content)) === normalise(want.type, want.content) &&
      (want.priority ?? null) === (have.priority ?? null);
const sameSettings = (want, have) => (want.proxied ?? false) === (have.proxied ?? false) && (want.comment ?? "") === (have.comment ?? "");

/** The plan as text, without any network access: what --dry-run prints. */
export function formatPlan(plan) {
  const lines = [`account ${plan.accountId}`];
  for (const b of plan.r2Buckets) lines.push(`ensure r2 bucket ${b.name} (${b.env}, binding ${b.binding}): ${b.why}`);
  for (const n of plan.kvNamespaces) lines.push(`ensure kv namespace ${n.title} (${n.env}, binding ${n.binding}): ${n.why}`);
  for (const d of plan.d1Databases) lines.push(`ensure d1 database ${d.name} (${d.env}, binding ${d.binding}): ${d.why}`);
  for (const c of plan.customDomains) lines.push(`check  custom domain ${c.hostname} -> ${c.service} (attached by \`wrangler deploy --env ${c.env}\`): ${c.why}`);
  for (const [zone, records] of Object.entries(plan.dns)) {
    for (const r of records) lines.push(`ensure dns ${zone}: ${describeRecord(r)} ; ${r.comment}`);
  }
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n") + "\n";
}

/** A small Cloudflare API client over an injectable fetch (tests pass a fake one). */
export function cloudflareApi({ token, fetch = globalThis.fetch }) {
  async function call(method, route, body) {
    const res = await fetch(`${API}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({ success: false, errors: [{ message: `HTTP ${res.status}, not JSON` }] }));
    if (!res.ok || !json.success) {
      const why = (json.errors ?? []).map((e) => `${e.code ?? ""} ${e.message}`.trim()).join("; ");
      throw new Error(`${method} ${route}: ${why || `HTTP ${res.status}`}`);
    }
    return json;
  }
  // Pages until result_info says there is no more (list endpoints cap per_page).
  async function list(route, pick = (j) => j.result) {
    const out = [];
    for (let page = 1; ; page++) {
      const sep = route.includes("?") ? "&" : "?";
      const json = await call("GET", `${route}${sep}page=${page}&per_page=100`);
      const items = pick(json) ?? [];
      out.push(...items);
      const info = json.result_info;
      if (!info || items.length === 0 || (info.total_pages ? page >= info.total_pages : items.length < 100)) return out;
    }
  }
  return { call, list };
}

/** Applies the plan: list, then create or update only what differs. Returns the actions taken. */
export async function provision(plan, { api, accountId, zoneIds = {}, log = console.log }) {
  if (accountId !== plan.accountId) {
    throw new Error(`CLOUDFLARE_ACCOUNT_ID is ${accountId} but the inventory's cloudflare.accountId is ${plan.accountId}; refusing to provision another account`);
  }
  const acct = `/accounts/${accountId}`;
  const actions = [];
  const act = (line) => { actions.push(line); log(line); };

  // R2: GET /r2/buckets answers { result: { buckets: [...] } } (cursor-paged; names are unique).
  const buckets = new Set((await api.call("GET", `${acct}/r2/buckets`)).result.buckets.map((b) => b.name));
  for (const b of plan.r2Buckets) {
    if (buckets.has(b.name)) act(`ok     r2 bucket ${b.name}`);
    else { await api.call("POST", `${acct}/r2/buckets`, { name: b.name }); act(`create r2 bucket ${b.name}`); }
  }

  const ids = {};
  const namespaces = await api.list(`${acct}/storage/kv/namespaces`);
  for (const n of plan.kvNamespaces) {
    let found = namespaces.find((x) => x.title === n.title);
    if (found) act(`ok     kv namespace ${n.title}`);
    else { found = (await api.call("POST", `${acct}/storage/kv/namespaces`, { title: n.title })).result; act(`create kv namespace ${n.title}`); }
    ids[`kv ${n.env} ${n.binding}`] = found.id;
  }

  const databases = await api.list(`${acct}/d1/database`);
  for (const d of plan.d1Databases) {
    let found = databases.find((x) => x.name === d.name);
    if (found) act(`ok     d1 database ${d.name}`);
    else { found = (await api.call("POST", `${acct}/d1/database`, { name: d.name })).result; act(`create d1 database ${d.name}`); }
    ids[`d1 ${d.env} ${d.binding}`] = found.uuid;
  }

  const zoneId = async (zone) => {
    if (zoneIds[zone]) return zoneIds[zone];
    const found = (await api.call("GET", `/zones?name=${encodeURIComponent(zone)}&account.id=${accountId}`)).result;
    if (!found?.length) throw new Error(`zone ${zone} not found in account ${accountId}; add it to Cloudflare first`);
    return (zoneIds[zone] = found[0].id);
  };

  // GET /accounts/:id/workers/domains lists every attached custom domain of the account.
  const pending = [];
  if (plan.customDomains.length > 0) {
    const attached = (await api.call("GET", `${acct}/workers/domains`)).result;
    for (const c of plan.customDomains) {
      const have = attached.find((d) => d.hostname === c.hostname);
      if (have?.service === c.service) act(`ok     custom domain ${c.hostname} -> ${c.service}`);
      else {
        const line = have
          ? `wrong  custom domain ${c.hostname} -> ${have.service}, expected ${c.service}: fix wrangler.toml, then \`wrangler deploy --env ${c.env}\``
          : `todo   custom domain ${c.hostname} -> ${c.service}: run \`wrangler deploy --env ${c.env}\``;
        pending.push(line);
        log(line);
      }
    }
  }

  for (const [zone, wanted] of Object.entries(plan.dns)) {
    const z = await zoneId(zone);
    const existing = await api.list(`/zones/${z}/dns_records`);
    const claimed = new Set();
    for (const r of wanted) {
      const sameSet = existing.filter((x) => x.type === r.type && x.name.toLowerCase() === r.name.toLowerCase() && !claimed.has(x.id));
      const match = sameSet.find((x) => sameValue(r, x));
      if (match) {
        claimed.add(match.id);
        if (sameSettings(r, match)) act(`ok     dns ${describeRecord(r)}`);
        else { await api.call("PUT", `/zones/${z}/dns_records/${match.id}`, r); act(`update dns ${describeRecord(r)} (proxied/comment)`); }
        continue;
      }
      // A lone A/AAAA/CNAME with another value is the same record moved (a re-addressed
      // host): update it. For multi-valued sets (MX, TXT, CAA) add alongside instead of
      // guessing which existing value was meant.
      const replaceable = ["A", "AAAA", "CNAME"].includes(r.type) && sameSet.length === 1 && wanted.filter((w) => w.type === r.type && w.name === r.name).length === 1 ? sameSet[0] : null;
      if (replaceable) {
        claimed.add(replaceable.id);
        await api.call("PUT", `/zones/${z}/dns_records/${replaceable.id}`, r);
        act(`update dns ${describeRecord(r)} (was ${replaceable.content})`);
      } else {
        await api.call("POST", `/zones/${z}/dns_records`, r);
        act(`create dns ${describeRecord(r)}`);
      }
    }
    for (const x of existing) {
      if (!claimed.has(x.id) && !["NS", "SOA"].includes(x.type)) log(`unmanaged dns ${x.type} ${x.name} ${x.content ?? ""} (left alone)`);
    }
  }

  for (const w of plan.warnings) log(`warning: ${w}`);
  for (const [what, id] of Object.entries(ids)) log(`id     ${what} = ${id}  (for wrangler.toml)`);
  return Object.assign(actions, { pending });
}

function parseArgs(argv) {
  const opts = { dryRun: false, inventory: undefined, env: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dry-run") opts.dryRun = true;
    else if (a === "--inventory") opts.inventory = argv[++i];
    else if (a === "--env") opts.env = argv[++i];
    else if (a === "--help" || a === "-h") { opts.help = true; }
    else throw new Error(`unknown argument ${a} (see --help)`);
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log("usage: provision.mjs [--dry-run] [--env production|staging] [--inventory FILE]");
    return;
  }
  const plan = filterEnv(loadPlan(opts.inventory), opts.env);
  if (opts.dryRun) {
    process.stdout.write("dry run: no API calls; every resource is listed, whether or not it exists\n");
    process.stdout.write(formatPlan(plan));
    return;
  }
  const token = process.env.CLOUDFLARE_API_TOKEN;
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  if (!token || !accountId) throw new Error("CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID must be set (or use --dry-run)");
  const zoneIds = Object.fromEntries(
    (process.env.CLOUDFLARE_ZONE_IDS ?? "").split(",").filter(Boolean).map((kv) => kv.split("=").map((s) => s.trim())),
  );
  const actions = await provision(plan, { api: cloudflareApi({ token }), accountId, zoneIds });
  if (actions.pending.length > 0) console.log(`${actions.pending.length} custom domain(s) not attached yet: deploy the workers, then run this again`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`provision: ${err.message}`);
    process.exit(1);
  });
}
