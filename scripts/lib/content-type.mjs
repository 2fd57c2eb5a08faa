// @ts-check
// The content type of each object of a binary cache, for the scripts that upload one (scripts/seed-r2.mjs,
// scripts/s3-client.mjs) and the end-to-end tests' upstream server: the table the cache worker serves with
// (src/routing/contentTypes.json, used by contentTypeOf in src/routing/routes.ts), keyed by route kind.
import { readFileSync } from "node:fs";

/** @type {Record<string, string>} */
const CONTENT_TYPES = JSON.parse(readFileSync(new URL("../../src/routing/contentTypes.json", import.meta.url), "utf8"));

/**
 * The route kind (src/routing/routes.ts) of an object key in a cache laid out by `nix copy --to file://…`.
 * @param {string} key
 * @returns {string | undefined}
 */
function kindOf(key) {
  if (key === "nix-cache-info") return "cache-info";
  if (/^[^/]+\.narinfo$/.test(key)) return "narinfo";
  if (/^[^/]+\.ls$/.test(key)) return "listing";
  if (key.startsWith("nar/")) return "nar";
  if (key.startsWith("log/")) return "log";
  if (key.startsWith("realisations/")) return "realisation";
  if (key.startsWith("build-trace-v2/")) return "build-trace";
  if (key.startsWith("debuginfo/")) return "debuginfo";
  return undefined;
}

/**
 * The content type the cache worker serves `key` with; application/octet-stream for files that are not cache objects.
 * @param {string} key
 * @returns {string}
 */
export function contentTypeFor(key) {
  const kind = kindOf(key);
  return (kind && CONTENT_TYPES[kind]) || "application/octet-stream";
}
