import { describe, expect, it } from "vitest";
import { MAX_COLUMNS, overLongLines, wrapProse } from "../../scripts/line-width.mjs";

const long = (prefix: string) => prefix + "x".repeat(MAX_COLUMNS + 1 - prefix.length);
const URL = `https://example.com/${"a".repeat(100)}`;

// Each row: a file path, its text, and the over-long lines the check must report (1-based line numbers).
const CASES: { name: string; file: string; text: string; flagged: number[] }[] = [
  { name: "a line of exactly the limit", file: "src/a.ts", text: "y".repeat(MAX_COLUMNS), flagged: [] },
  { name: "a line one column over", file: "src/a.ts", text: `ok\n${long("// ")}\nok`, flagged: [2] },
  { name: "columns are code points, not bytes", file: "docs/a.md", text: "—".repeat(MAX_COLUMNS), flagged: [] },
  { name: "a CRLF line ending is not a column", file: "src/a.ts", text: `${"y".repeat(MAX_COLUMNS)}\r\n`, flagged: [] },
  { name: "a .nix file", file: "infra/lib/a.nix", text: long("  # "), flagged: [1] },
  { name: "a .toml file", file: "wrangler.toml", text: long("# "), flagged: [1] },
  { name: "a .sh file", file: "scripts/a.sh", text: long("echo "), flagged: [1] },
  { name: "Markdown prose", file: "docs/a.md", text: long("Some prose "), flagged: [1] },
  // Exemptions.
  { name: "a Markdown table row", file: "docs/a.md", text: long("| a | b "), flagged: [] },
  { name: "an indented Markdown table row", file: "docs/a.md", text: long("  | a | "), flagged: [] },
  { name: "a table-like line outside Markdown", file: "src/a.ts", text: long("| a | b "), flagged: [1] },
  { name: "a Nix-made fixture", file: "test/fixtures/nix-2.8/expected.json", text: long(""), flagged: [] },
  { name: "a Nix-made CA fixture", file: "test/fixtures/nix-2.8-ca/x.narinfo", text: long(""), flagged: [] },
  {
    name: "a fixture copied from a real cache",
    file: "test/fixtures/cache-nixos-org/x.narinfo",
    text: long(""),
    flagged: [],
  },
  {
    name: "a fixture directory's README",
    file: "test/fixtures/cache-nixos-org/README.md",
    text: long(""),
    flagged: [1],
  },
  { name: "a fixture-making script", file: "test/fixtures/make-fixtures.sh", text: long(""), flagged: [1] },
  { name: "hand-written infra fixtures", file: "infra/test/fixtures/inventory.nix", text: long(""), flagged: [1] },
  { name: "a golden file", file: "infra/test/fixtures/golden/machines.txt", text: long(""), flagged: [] },
  { name: "the demo's Nix-made cache", file: "demo/cache/x.ls", text: long(""), flagged: [] },
  { name: "the generated page bundle", file: "src/admin/page/bundle.gen.ts", text: long(""), flagged: [] },
  { name: "package-lock.json", file: "package-lock.json", text: long(""), flagged: [] },
  { name: "a binary file", file: "src/a.bin", text: `\0${long("")}`, flagged: [] },
  { name: "a comment that is only a URL", file: "src/a.ts", text: `  // ${URL}`, flagged: [] },
  { name: "a JSON key and a URL", file: "bench/prices.json", text: `    "source": "${URL}",`, flagged: [] },
  { name: "a Markdown bullet that is a URL", file: "docs/a.md", text: `- ${URL}`, flagged: [] },
  { name: "a URL with prose before it", file: "src/a.ts", text: `// see ${URL}`, flagged: [1] },
  { name: "a URL with prose after it", file: "docs/a.md", text: `${URL} and more`, flagged: [1] },
  { name: "a URL that fits, on a long line", file: "src/a.ts", text: `// ${long("")} https://x.org`, flagged: [1] },
];

describe("the line-width check (scripts/line-width.mjs)", () => {
  it.each(CASES)("$name", ({ file, text, flagged }) => {
    expect(overLongLines(file, text).map((l) => l.line)).toEqual(flagged);
  });

  it("reports the columns of a flagged line", () => {
    expect(overLongLines("src/a.ts", long(""))).toEqual([{ line: 1, columns: MAX_COLUMNS + 1 }]);
  });
});

describe("wrapProse, for generated Markdown (bench/RESULTS.md)", () => {
  const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(" ");

  it("breaks a long prose line at spaces into lines the check accepts, words unchanged", () => {
    const text = `${words(60)}\n\n| a | ${words(40)} |\n# A heading\n${words(30)}`;
    const wrapped = wrapProse(text);
    expect(overLongLines("bench/RESULTS.md", wrapped)).toEqual([]);
    expect(wrapped.split("\n").length).toBeGreaterThan(text.split("\n").length);
    expect(wrapped.split(/\s+/)).toEqual(text.split(/\s+/));
  });

  it("keeps table rows and headings, and short lines, as they are", () => {
    const text = `| ${words(40)} |\n## ${words(40)}\nshort line`;
    expect(wrapProse(text)).toBe(text);
  });

  it("never starts a line with a word that would make it a list item", () => {
    const text = `${"x".repeat(115)} a - b 1. c ${words(10)}`;
    const lines = wrapProse(text).split("\n");
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).not.toMatch(/^(-|\d+\.) /);
  });
});
