// Every repository file a comment or document cites must exist: the repository stands alone, so a reader can follow
// each reference. Scans comments of code (.ts, .mjs, .js, .sh, .toml) and the whole text of Markdown in the
// directories below, and checks each path that starts at a top-level directory of the repository.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { citedDocNames, citedPaths, commentsOf } from "./citations";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const SCANNED = ["src", "test", "scripts", "bench", "docs", "README.md"];
const SKIPPED_DIRS = new Set(["node_modules", ".tmp", "dist"]);

function walk(p: string): string[] {
  const full = path.join(ROOT, p);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [p];
  return readdirSync(full).flatMap((name) => (SKIPPED_DIRS.has(name) ? [] : walk(path.join(p, name))));
}

describe("cited repository paths", () => {
  const files = SCANNED.flatMap(walk).filter((f) => /\.(ts|mjs|js|sh|toml|md)$/.test(f));

  it("finds files to scan and citations in them", () => {
    expect(files.length).toBeGreaterThan(50);
    const all = files.flatMap((f) => citedPaths(commentsOf(f, readFileSync(path.join(ROOT, f), "utf8"))));
    expect(all).toContain("docs/protocol.md");
  });

  it("exist", () => {
    const missing: string[] = [];
    for (const file of files) {
      const text = commentsOf(file, readFileSync(path.join(ROOT, file), "utf8"));
      for (const cited of citedPaths(text)) {
        if (!existsSync(path.join(ROOT, cited))) missing.push(`${file}: ${cited}`);
      }
      for (const name of citedDocNames(text)) {
        const here = path.join(ROOT, path.dirname(file), name);
        if (!existsSync(here) && !existsSync(path.join(ROOT, name))) missing.push(`${file}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe("the scanner", () => {
  it("reads comments of code, not its strings", () => {
    const ts = [
      "// see docs/a.md",
      'const s = "docs/not-a-comment.md"; /* and src/b.ts */',
      "const u = `https://x/docs/template.md`; // docs/c.md",
      "/**",
      ' * docs/d.md, "quoted" in a comment',
      " */",
    ].join("\n");
    expect(citedPaths(commentsOf("x.ts", ts))).toEqual(["docs/a.md", "src/b.ts", "docs/c.md", "docs/d.md"]);
    expect(citedPaths(commentsOf("x.sh", 'echo "docs/no.md" # see scripts/yes.sh\nx=$#'))).toEqual(["scripts/yes.sh"]);
    expect(citedPaths(commentsOf("x.md", "text docs/e.md."))).toEqual(["docs/e.md"]);
    expect(citedDocNames("see NOTES.md and README.md, not docs/X.md or x.md")).toEqual(["NOTES.md", "README.md"]);
  });

  it("takes paths that start at a top-level directory, not patterns, placeholders or other repositories' paths", () => {
    const text = [
      "docs/protocol.md, src/serve/ and test/fixtures/nix-2.8/xz.",
      "test/unit/**/*.test.ts test/e2e/<file> nar/<hash> lix/libstore/nar-info.cc https://x.test/src/y.ts",
      "`src/routing/routes.ts`",
    ].join("\n");
    expect(citedPaths(text)).toEqual([
      "docs/protocol.md",
      "src/serve",
      "test/fixtures/nix-2.8/xz",
      "src/routing/routes.ts",
    ]);
  });
});
