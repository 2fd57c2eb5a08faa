/** The top-level directories of the repository that a citation can start with. */
const ROOTS = ["src", "test", "scripts", "bench", "docs", "infra", "demo", "migrations", ".ci"];
const CITATION = new RegExp(
  `(?<![\\w./:@-])((?:${ROOTS.map((r) => r.replace(".", "\\.")).join("|")})/[\\w.+/-]*)`,
  "g",
);
// What follows a pattern or placeholder rather than a file name.
const PATTERN_NEXT = /^[*<{…$[]/;

/**
 * The comments of a source file (Markdown: all of it). A small scanner rather than a parser: strings and template
 * literals are skipped so that paths in code are not taken for citations; a quote that is not closed on its line
 * ends at the line (so a regex literal with a quote in it cannot swallow the file).
 */
export function commentsOf(file: string, text: string): string {
  if (file.endsWith(".md")) return text;
  if (file.endsWith(".sh") || file.endsWith(".toml")) {
    return text
      .split("\n")
      .map((line) => {
        const m = /(?:^|\s)#(?!!)(.*)$/.exec(line);
        return m ? m[1]! : "";
      })
      .join("\n");
  }
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i + 2, stop) + "\n";
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i + 2, stop) + "\n";
      i = stop + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      i += 1;
      while (i < text.length && text[i] !== c && (c === "`" || text[i] !== "\n")) i += text[i] === "\\" ? 2 : 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  return out;
}

/** Repository paths cited in `text`, in order, without trailing punctuation or slashes. */
export function citedPaths(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(CITATION)) {
    const after = text.slice(m.index + m[0].length);
    if (PATTERN_NEXT.test(after)) continue;
    const p = m[1]!.replace(/[./]+$/, "");
    if (p.includes("..") || !p.includes("/")) continue;
    out.push(p);
  }
  return out;
}

const BARE_DOC = /(?<![\w./-])([A-Z][A-Z0-9_-]*\.md)\b/g;

/** Bare upper-case document names such as `README.md`: they name a file next to the citing one or at the root. */
export function citedDocNames(text: string): string[] {
  return [...text.matchAll(BARE_DOC)].map((m) => m[1]!);
}
