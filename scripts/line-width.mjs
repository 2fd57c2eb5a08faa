// @ts-check
// Fails on any line over 120 columns (Prettier's printWidth, .prettierrc.json) in the files git tracks. Prettier
// cannot wrap comments and strings, and it does not read .nix, .toml, .sh or Markdown prose (.prettierignore), so
// this check covers what it leaves. Columns are Unicode code points.
//   npm run lint:width    lists each over-long line as file:line: columns; exits 1 if there is one
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "./lib/processes.mjs";

export const MAX_COLUMNS = 120;

/** Files that must keep their bytes, so are not checked: what Nix, a generator or npm wrote. */
export const EXEMPT_FILES = [
  // Binary caches made by Nix (test/fixtures/make-fixtures.sh, the demo's cache), compared byte for byte.
  /^test\/fixtures\/(nix-2\.8|nix-2\.8-ca|cache-nixos-org)\/.*(?<!\.md)$/,
  /^demo\/(cache|keys)\//,
  // Golden files the infra tests compare outputs with.
  /^infra\/test\/fixtures\/golden\//,
  // The admin page bundle, compared with a fresh esbuild output (scripts/build-admin-page.mjs --check).
  /^src\/admin\/page\/bundle\.gen\.ts$/,
  /(^|\/)package-lock\.json$/,
];

/** Markdown table rows: a row cannot be broken. */
const TABLE_ROW = /^\s*\|/;

/**
 * A URL that cannot be broken: the line's last token contains `://`, crosses the limit, and at most one token
 * (a comment marker, a list bullet, a JSON key) comes before it, so there is nothing to move to another line.
 * @param {string} line
 */
function isUnbreakableUrl(line) {
  const tokens = line.trim().split(/\s+/);
  const last = tokens.at(-1) ?? "";
  return tokens.length <= 2 && last.includes("://") && [...line.trimEnd()].length - [...last].length < MAX_COLUMNS;
}

/**
 * The over-long lines of one file (1-based line numbers), exemptions applied.
 * @param {string} file path relative to the repository root
 * @param {string} text
 * @returns {{ line: number, columns: number }[]}
 */
export function overLongLines(file, text) {
  if (EXEMPT_FILES.some((re) => re.test(file)) || text.includes("\0")) return [];
  const markdown = file.endsWith(".md");
  /** @type {{ line: number, columns: number }[]} */
  const found = [];
  text.split("\n").forEach((line, i) => {
    const columns = [...line.replace(/\r$/, "")].length;
    if (columns <= MAX_COLUMNS) return;
    if (markdown && TABLE_ROW.test(line)) return;
    if (isUnbreakableUrl(line)) return;
    found.push({ line: i + 1, columns });
  });
  return found;
}

/** A word that would start a Markdown block (list item, heading, quote, table row) if a line began with it. */
const BLOCK_START = /^(#+|[-*+>]|\d+[.)]|\|.*)$/;

/**
 * Markdown prose re-wrapped at MAX_COLUMNS: each line that is too long is broken at spaces, never before a word
 * that would start a block. Table rows, headings and what cannot be broken stay as they are. For generated
 * Markdown (bench/RESULTS.md).
 * @param {string} text
 */
export function wrapProse(text) {
  return text
    .split("\n")
    .flatMap((line) => {
      if ([...line].length <= MAX_COLUMNS || /^\s*[|#]/.test(line)) return [line];
      const indent = /^\s*/.exec(line)?.[0] ?? "";
      const words = line.trimStart().split(" ");
      /** @type {string[]} */
      const lines = [];
      /** @type {string[]} */
      let current = [];
      for (const word of words) {
        if (current.length > 0 && [...`${indent}${[...current, word].join(" ")}`].length > MAX_COLUMNS) {
          /** @type {string[]} */
          const carried = [];
          while (current.length > 1 && BLOCK_START.test([...carried, word][0] ?? ""))
            carried.unshift(current.pop() ?? "");
          lines.push(indent + current.join(" "));
          current = carried;
        }
        current.push(word);
      }
      lines.push(indent + current.join(" "));
      return lines;
    })
    .join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0");
  let count = 0;
  for (const file of files.filter(Boolean)) {
    let text;
    try {
      text = readFileSync(`${REPO_ROOT}/${file}`, "utf8");
    } catch {
      continue; // deleted in the work tree but not yet in the index
    }
    for (const { line, columns } of overLongLines(file, text)) {
      console.log(`${file}:${line}: ${columns} columns`);
      count++;
    }
  }
  if (count > 0) {
    console.error(`${count} line(s) over ${MAX_COLUMNS} columns (scripts/line-width.mjs lists the exemptions)`);
    process.exit(1);
  }
}
