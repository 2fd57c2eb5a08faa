/**
 * The Env types of both workers (src/env.ts, src/admin/env.ts) are declared by hand, once, without an index
 * signature. This keeps them exact: their members are exactly the bindings and vars that `wrangler types` finds in
 * the worker's wrangler config (every environment), plus the secrets its .dev.vars example lists.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { check, REPO_ROOT } from "../../scripts/lib/processes.mjs";
import { WRANGLER_ENV } from "../../scripts/wrangler-env.mjs";

const work = await mkdtemp(join(tmpdir(), "nix-edge-env-types-"));
afterAll(() => rm(work, { recursive: true, force: true }));

/** Names of every binding and var in the interfaces `wrangler types` generates for `config` (offline). */
async function wranglerTypes(config: string): Promise<string[]> {
  const out = join(work, `${config}.d.ts`);
  await check(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "types",
      "--include-runtime=false",
      "--strict-vars=false",
      "-c",
      config,
      out,
    ],
    { env: WRANGLER_ENV, timeoutMs: 60_000 },
  );
  const names = [...(await readFile(out, "utf8")).matchAll(/^\s+([A-Z][A-Z0-9_]*)\??: /gm)].map((m) => m[1]!);
  return [...new Set(names)];
}

/** Secrets named in a .dev.vars example (`# NAME=` lines). */
async function exampleSecrets(file: string): Promise<string[]> {
  return [...(await readFile(join(REPO_ROOT, file), "utf8")).matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

/** Member names of the interface `name` in a TypeScript file. */
async function interfaceMembers(file: string, name: string): Promise<string[]> {
  const source = ts.createSourceFile(file, await readFile(join(REPO_ROOT, file), "utf8"), ts.ScriptTarget.ES2022);
  const declaration = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!declaration) throw new Error(`no interface ${name} in ${file}`);
  return declaration.members.map((m) => {
    if (!m.name || !ts.isIdentifier(m.name))
      throw new Error(`${file}: ${name} has a member that is not a plain name (an index signature?)`);
    return m.name.text;
  });
}

describe("the workers' Env types are exactly their wrangler configs and secrets", () => {
  it.each([
    ["wrangler.toml", ".dev.vars.example", "src/env.ts", "Env"],
    ["wrangler.admin.toml", ".dev.vars.admin.example", "src/admin/env.ts", "AdminEnv"],
  ])(
    "%s and %s ↔ %s's %s",
    async (config, secrets, file, name) => {
      const expected = new Set([...(await wranglerTypes(config)), ...(await exampleSecrets(secrets))]);
      expect(expected.size).toBeGreaterThan(5);
      expect((await interfaceMembers(file, name)).sort()).toEqual([...expected].sort());
      // wrangler starts in a few seconds, more on a loaded machine: a hang guard, not a speed target.
    },
    60_000,
  );
});
