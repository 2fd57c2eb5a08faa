// @ts-check
// Lists exports of src/ that nothing imports (dead code), and those only tests import (code kept alive by its
// tests alone). tsc's noUnusedLocals/noUnusedParameters cover what is unused inside a file; this covers what is
// unused across files. Uses the TypeScript compiler API over the programs of tsconfig.json (workers code and its
// tests) and tsconfig.node.json (node-side code and tests).
//   npm run lint:exports    lists them; exits 1 if an export is unused (test-only ones are listed, not failed)
import { relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "./lib/processes.mjs";

/** Exports the runtime imports: each worker's entry point. */
const ENTRY_POINTS = new Set(["src/index.ts:default", "src/admin/index.ts:default"]);

const rel = (/** @type {string} */ file) => relative(REPO_ROOT, file);
const isTest = (/** @type {string} */ file) => file.startsWith("test/") || file.startsWith("infra/test/");

/** @param {string} configFile */
function program(configFile) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    `${REPO_ROOT}/${configFile}`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${configFile}`);
  // infra/'s tests are not type-checked (they mostly drive nix-instantiate) but some import from src/: read them too.
  const extra = configFile === "tsconfig.node.json" ? ts.sys.readDirectory(`${REPO_ROOT}/infra/test`, [".ts"]) : [];
  return ts.createProgram([...parsed.fileNames, ...extra], parsed.options);
}

/** `file:name` of each src/ export → the files that import it. */
const importers = new Map();
/** `file:name` of each src/ export → where it is declared: "here", "here, used" (read in its own file), or the
 * file a barrel re-exports it from. */
const exported = new Map();

/** @param {string} key @param {string} by */
function use(key, by) {
  if (!importers.has(key)) importers.set(key, new Set());
  importers.get(key).add(by);
}

for (const configFile of ["tsconfig.json", "tsconfig.node.json"]) {
  const p = program(configFile);
  const checker = p.getTypeChecker();
  /** @param {ts.Expression} specifier @returns {ts.Symbol | undefined} */
  const moduleOf = (specifier) => checker.getSymbolAtLocation(specifier);
  /** @param {ts.Symbol} moduleSymbol */
  const fileOf = (moduleSymbol) => rel(moduleSymbol.declarations?.[0]?.getSourceFile().fileName ?? "");
  /** @param {ts.Symbol} moduleSymbol @param {string} by */
  const useAll = (moduleSymbol, by) => {
    for (const s of checker.getExportsOfModule(moduleSymbol)) use(`${fileOf(moduleSymbol)}:${s.name}`, by);
  };

  for (const sf of p.getSourceFiles()) {
    const file = rel(sf.fileName);
    if (file.startsWith("..") || file.includes("node_modules")) continue;
    if (file.startsWith("src/") && configFile === "tsconfig.json") {
      const moduleSymbol = checker.getSymbolAtLocation(sf);
      // How often each symbol is named in this file, declarations included.
      const named = new Map();
      sf.forEachChild(function count(node) {
        if (ts.isIdentifier(node)) {
          const s = checker.getSymbolAtLocation(node);
          if (s) named.set(s, (named.get(s) ?? 0) + 1);
        }
        node.forEachChild(count);
      });
      for (const s of moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []) {
        const declaredIn = rel(s.declarations?.[0]?.getSourceFile().fileName ?? file);
        const where =
          declaredIn !== file
            ? declaredIn
            : (named.get(s) ?? 0) > (s.declarations?.length ?? 1)
              ? "here, used"
              : "here";
        exported.set(`${file}:${s.name}`, where);
      }
    }
    for (const statement of sf.statements) {
      if (ts.isImportDeclaration(statement)) {
        const moduleSymbol = moduleOf(statement.moduleSpecifier);
        const clause = statement.importClause;
        if (!moduleSymbol || !clause) continue;
        const target = fileOf(moduleSymbol);
        if (clause.name) use(`${target}:default`, file);
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) useAll(moduleSymbol, file);
        if (bindings && ts.isNamedImports(bindings)) {
          for (const e of bindings.elements) use(`${target}:${(e.propertyName ?? e.name).text}`, file);
        }
      } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
        const moduleSymbol = moduleOf(statement.moduleSpecifier);
        if (!moduleSymbol) continue;
        const target = fileOf(moduleSymbol);
        const clause = statement.exportClause;
        if (!clause || ts.isNamespaceExport(clause)) useAll(moduleSymbol, file);
        else for (const e of clause.elements) use(`${target}:${(e.propertyName ?? e.name).text}`, file);
      }
    }
    // `import("…")` types and calls.
    sf.forEachChild(function visit(node) {
      if (
        ts.isImportTypeNode(node) &&
        ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        const moduleSymbol = moduleOf(node.argument.literal);
        if (moduleSymbol && node.qualifier)
          use(
            `${fileOf(moduleSymbol)}:` +
              (ts.isIdentifier(node.qualifier) ? node.qualifier.text : node.qualifier.right.text),
            file,
          );
      }
      // A dynamic import may read any export: count them all as used.
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [specifier] = node.arguments;
        const moduleSymbol = specifier && ts.isStringLiteral(specifier) ? moduleOf(specifier) : undefined;
        if (moduleSymbol) useAll(moduleSymbol, file);
      }
      node.forEachChild(visit);
    });
  }
}

/** @type {string[]} */ const dead = [];
/** @type {string[]} */ const needlessExport = [];
/** @type {string[]} */ const unusedReexport = [];
/** @type {string[]} */ const testOnly = [];
for (const [key, where] of [...exported].sort()) {
  if (ENTRY_POINTS.has(key)) continue;
  const by = [...(importers.get(key) ?? [])].filter((f) => f !== key.split(":")[0]);
  if (by.length === 0) {
    if (where === "here") dead.push(key);
    else if (where === "here, used") needlessExport.push(key);
    else unusedReexport.push(`${key}  (from ${where})`);
  } else if (by.every(isTest)) testOnly.push(`${key}  (${by.join(", ")})`);
}

/** @type {[title: string, list: string[], fails: boolean][]} */
const sections = [
  ["Exported from src/ and used nowhere (dead code)", dead, true],
  ["Re-exported by a module but never imported through it", unusedReexport, true],
  ["Exported from src/ but used only in its own file (the export can go)", needlessExport, true],
  // Informational: a test harness driving an exported handler is fine; a helper nothing but its test reads is not.
  ["Exported from src/ and imported only by tests (check that the code itself still needs it)", testOnly, false],
];
let failed = false;
for (const [title, list, fails] of sections) {
  if (list.length === 0) continue;
  console.log(`${title}:\n  ${list.join("\n  ")}`);
  failed ||= fails;
}
if (failed) process.exit(1);
