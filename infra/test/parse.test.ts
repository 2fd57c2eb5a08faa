// Every .nix file under infra/ parses with the Nix CI has (Debian's nix-bin 2.8). This is
// all that can be checked of the NixOS modules here: evaluating them needs nixpkgs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { infraDir } from "./nix";

function nixFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : nixFiles(p);
    return e.name.endsWith(".nix") ? [p] : [];
  });
}

const parse = (...files: string[]) => spawnSync("nix-instantiate", ["--parse", ...files], { encoding: "utf8" });

// Fixtures that exist to show the parser rejecting them.
const unparseable = new Set(["test/fixtures/invalid/duplicate-attribute.nix"]);

describe("every .nix file parses", () => {
  const files = nixFiles(infraDir)
    .map((f) => path.relative(infraDir, f))
    .sort();

  it("finds the flake, inventory, lib and modules", () => {
    for (const f of [
      "flake.nix",
      "inventory.nix",
      "eval.nix",
      "lib/default.nix",
      "modules/common.nix",
      "modules/hydra.nix",
      "modules/builder.nix",
      "modules/mail.nix",
    ]) {
      expect(files).toContain(f);
    }
  });

  // One nix-instantiate for all of them (it parses each file it is given, and fails on the first that does not
  // parse); a file is parsed again on its own only when that one call failed, so that the failing file is named.
  const parseable = files.filter((f) => !unparseable.has(f));
  const all = parse(...parseable.map((f) => path.join(infraDir, f)));
  it.each(parseable)("%s", (f) => {
    const r = all.status === 0 && all.stderr === "" ? all : parse(path.join(infraDir, f));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("rejects a syntax error (the check can fail)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infra-parse-"));
    writeFileSync(path.join(dir, "broken.nix"), "{ a = 1 }\n");
    const r = parse(path.join(dir, "broken.nix"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/syntax error/);
  });

  it("rejects a host declared twice (Nix merges the two sets, and every host has a role)", () => {
    const r = parse(path.join(infraDir, "test/fixtures/invalid/duplicate-attribute.nix"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/attribute 'role' already defined/);
  });
});
