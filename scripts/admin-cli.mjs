#!/usr/bin/env node
// The admin CLI: calls the admin worker's API (docs/admin.md) with a token from the environment and prints
// what was done. No dependencies beyond node ≥ 20.
//   NIX_CACHE_ADMIN_URL    base URL of the admin worker, e.g. https://cache-admin.example-nix.org
//   NIX_CACHE_ADMIN_TOKEN  bearer token (its SHA-256 is in the worker's ADMIN_TOKENS secret)
import { createHash, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";

const USAGE = `usage: npm run admin -- <command> [options]

  purge [--dry-run] <path>...              purge store paths from the edge (every colo)
  block --reason TEXT [--dry-run] <path>... block paths (410 at every edge) and purge them
  unblock <path>                           lift a block
  delete [--dry-run] <path>...             delete paths from R2 (S3 if allowed), then purge
  status <path>                            where a path is: blocked? origins? edge? signature?
  audit [--limit N] [--action A] [--actor ID] [--before ID]
  new-token --id ID --scopes purge,block,delete,read
                                           make a token and its ADMIN_TOKENS entry (offline)

  <path> is /nix/store/<hash>-<name>, <hash>-<name>, <hash> or a narinfo URL; "-" reads them from stdin.
  --json prints the API's answer as is.
  env: NIX_CACHE_ADMIN_URL, NIX_CACHE_ADMIN_TOKEN`;

/** The admin worker's scopes (src/admin/tokens.ts, SCOPES); test/e2e/admin.e2e.test.ts checks the two agree. */
export const SCOPES = ["purge", "block", "delete", "read"];

/** `--scopes a,b`: every name a known scope, at least one, no repeats. A typo would make every call a 500. */
export function parseScopes(text) {
  const scopes = text.split(",").map((s) => s.trim());
  const unknown = scopes.filter((s) => !SCOPES.includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new CliError(
      `--scopes: unknown scope(s) ${unknown.map((s) => JSON.stringify(s)).join(", ")}; known: ${SCOPES.join(", ")}`,
      2,
    );
  }
  if (new Set(scopes).size !== scopes.length) throw new CliError("--scopes: a scope is named twice", 2);
  return scopes;
}

export class CliError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function parseArgs(argv) {
  const flags = { json: false, dryRun: false };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new CliError(`${a} needs a value\n\n${USAGE}`, 2);
      return v;
    };
    if (a === "--json") flags.json = true;
    else if (a === "--dry-run") flags.dryRun = true;
    else if (a === "--reason") flags.reason = value();
    else if (a === "--limit") flags.limit = value();
    else if (a === "--action") flags.action = value();
    else if (a === "--actor") flags.actor = value();
    else if (a === "--before") flags.before = value();
    else if (a === "--id") flags.id = value();
    else if (a === "--scopes") flags.scopes = value();
    else if (a === "-h" || a === "--help") flags.help = true;
    else if (a.startsWith("--")) throw new CliError(`unknown option ${a}\n\n${USAGE}`, 2);
    else rest.push(a);
  }
  const [command, ...args] = rest;
  return { command, args, flags };
}

async function readStdinPaths() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8").split(/\s+/).filter(Boolean);
}

async function pathsOf(args) {
  const paths = [];
  for (const a of args) paths.push(...(a === "-" ? await readStdinPaths() : [a]));
  if (paths.length === 0) throw new CliError(`no paths given\n\n${USAGE}`, 2);
  return paths;
}

/** One API call; turns every failure into a message a person can act on. */
export async function api(env, method, path, body) {
  const base = env.NIX_CACHE_ADMIN_URL;
  const token = env.NIX_CACHE_ADMIN_TOKEN;
  if (!base) throw new CliError("NIX_CACHE_ADMIN_URL is not set (the admin worker's base URL)", 2);
  if (!token) throw new CliError("NIX_CACHE_ADMIN_TOKEN is not set", 2);
  const url = `${base.replace(/\/+$/, "")}${path}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(e);
    throw new CliError(`cannot reach ${base}: ${cause}`, 3);
  }
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(
      `${method} ${path}: HTTP ${response.status}, not a JSON answer (is NIX_CACHE_ADMIN_URL the admin worker?)`,
    );
  }
  if (response.status === 401)
    throw new CliError("unauthorized (401): NIX_CACHE_ADMIN_TOKEN is missing or not a known token");
  if (response.status === 403) throw new CliError(`forbidden (403): ${json.error?.message ?? "token lacks the scope"}`);
  return { status: response.status, json };
}

function printPurge(out, json) {
  const zone = json.purge?.zone ?? {};
  const verb = json.dry_run ? "would purge" : "purged";
  out(`${verb} ${json.purge?.urls?.length ?? 0} URL(s) for ${json.paths?.length ?? 0} path(s)`);
  for (const p of json.paths ?? []) {
    out(`  ${p.storePath ?? p.hash ?? p.object}  (narinfo ${p.narinfo}${p.origin ? ` in ${p.origin}` : ""})`);
    for (const url of p.urls ?? []) out(`    ${url}`);
    for (const d of p.deletions ?? [])
      out(`    ${d.status} in ${d.origin}: ${d.keys.join(" ")}${d.error ? ` (${d.error})` : ""}`);
    if (p.denylistKeys) out(`    denylist: ${p.denylistKeys.join(" ")}`);
  }
  if (zone.status === "purged")
    out(
      `edge: purged in every data centre (${zone.calls.length} API call(s)); ${json.purge.localDeleted.length} ` +
        `cached here`,
    );
  else if (zone.status === "not-configured")
    out("edge: CLOUDFLARE_ZONE_ID not set: only the admin worker's own data centre was purged");
  else if (zone.status === "failed")
    out(`edge: GLOBAL PURGE FAILED (${zone.error}); not purged:\n    ${zone.notPurged.join("\n    ")}`);
  for (const w of json.warnings ?? []) out(`warning: ${w}`);
  if (json.result === "partial")
    out(`PARTIAL: not everything was done; still served:\n  ${json.incomplete.join("\n  ")}`);
}

export async function run(argv, env = process.env, out = console.log) {
  const { command, args, flags } = parseArgs(argv);
  if (flags.help || !command) {
    out(USAGE);
    return flags.help ? 0 : 2;
  }
  let result;
  switch (command) {
    case "purge":
      result = await api(env, "POST", "/v1/purge", {
        paths: await pathsOf(args),
        ...(flags.dryRun ? { dry_run: true } : {}),
      });
      break;
    case "block":
      if (!flags.reason) throw new CliError("block needs --reason", 2);
      result = await api(env, "POST", "/v1/block", {
        paths: await pathsOf(args),
        reason: flags.reason,
        ...(flags.dryRun ? { dry_run: true } : {}),
      });
      break;
    case "delete":
      result = await api(env, "POST", "/v1/delete", {
        paths: await pathsOf(args),
        ...(flags.dryRun ? { dry_run: true } : {}),
      });
      break;
    case "unblock":
    case "status": {
      if (args.length !== 1) throw new CliError(`${command} takes one path`, 2);
      const method = command === "unblock" ? "DELETE" : "GET";
      const route = command === "unblock" ? "/v1/block/" : "/v1/paths/";
      result = await api(env, method, route + encodeURIComponent(args[0]));
      break;
    }
    case "audit": {
      const q = new URLSearchParams();
      for (const k of ["limit", "action", "actor", "before"]) if (flags[k] !== undefined) q.set(k, flags[k]);
      result = await api(env, "GET", `/v1/audit${q.size ? `?${q}` : ""}`);
      break;
    }
    case "new-token": {
      if (!flags.id || !flags.scopes) throw new CliError("new-token needs --id and --scopes", 2);
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(flags.id))
        throw new CliError("--id: 1-64 of [A-Za-z0-9._@-] (src/admin/tokens.ts)", 2);
      const scopes = parseScopes(flags.scopes);
      const token = randomBytes(32).toString("base64url");
      const entry = { id: flags.id, sha256: createHash("sha256").update(token).digest("hex"), scopes };
      out(`token (give it to the admin; it is not stored anywhere):\n  ${token}`);
      out(`ADMIN_TOKENS entry (add it to the array in the secret):\n  ${JSON.stringify(entry)}`);
      return 0;
    }
    default:
      throw new CliError(`unknown command ${command}\n\n${USAGE}`, 2);
  }
  const { status, json } = result;
  if (flags.json) out(JSON.stringify(json, null, 2));
  else if (json.error && !json.paths && !json.unblocked) out(`error (${status}): ${json.error.message}`);
  else if (command === "purge" || command === "block" || command === "delete") printPurge(out, json);
  else if (command === "unblock" && json.unblocked) {
    out(
      `unblocked ${json.hash ?? json.subject} (was: "${json.was.reason}" by ${json.was.by} at ${json.was.at}); ` +
        `removed ${json.removed.join(" ")}`,
    );
    for (const k of json.keptForOtherBlocks) out(`  still blocked: ${k.key} (by the block of ${k.by})`);
    if (json.result === "partial") out(`PARTIAL: ${json.incomplete.join("; ")}`);
  } else out(JSON.stringify(json, null, 2));
  if (json.error && (json.paths || json.unblocked)) out(`error (${status}): ${json.error.message}`);
  return status >= 400 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof CliError) {
        console.error(`nix-cache-admin: ${e.message}`);
        process.exit(e.exitCode);
      }
      throw e;
    },
  );
}
