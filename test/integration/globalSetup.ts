/**
 * Runs in node before the workerd tests: reads the Nix-made fixtures (test/fixtures/README.md) and hands them to
 * the tests, which cannot read files from inside workerd.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { TestProject } from "vitest/node";

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export default function setup(project: TestProject): void {
  const root = join(import.meta.dirname, "..", "fixtures", "nix-2.8");
  const files: Record<string, string> = {};
  for (const path of walk(root)) files[relative(root, path)] = readFileSync(path).toString("base64");
  project.provide("fixtures", files);
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Fixture files under test/fixtures/nix-2.8, by relative path, base64. */
    fixtures: Record<string, string>;
  }
}
