/**
 * The one route table of the cache worker (GET and HEAD share it). A request path becomes a typed `Route`
 * with the canonical object key it reads, so `+` and `%2B` (docs/protocol.md, "`+` in names") name one object.
 */
import { FormatError } from "../narinfo/errors";
import { parseStorePathBaseName, parseStorePathHash } from "../narinfo/storePath";
import contentTypes from "./contentTypes.json";

export type Route =
  | { kind: "landing" }
  | { kind: "cache-info" }
  | { kind: "health" }
  | { kind: "narinfo"; hash: string; key: string }
  | { kind: "listing"; hash: string; key: string }
  | { kind: "nar"; key: string }
  | { kind: "log"; hash: string; key: string }
  | { kind: "realisation"; key: string }
  | { kind: "build-trace"; hash: string; key: string }
  | { kind: "debuginfo"; key: string };

/** What went wrong with a path that looked like one of ours; unknown paths are `null` (404). */
export class BadPath extends Error {}

// A file name under nar/: the narinfo URL is opaque (docs/protocol.md, "NAR URLs"), so accept what real caches use
// (nix32 or hex hashes, UUIDs, any of the compression extensions) but nothing that could leave the prefix.
const NAR_FILE = /^[0-9A-Za-z_+=-][0-9A-Za-z._+=-]{0,254}$/;
// Output names follow store path name rules (libstore/outputs-spec.cc).
const OUTPUT_NAME = /^[0-9A-Za-z+\-._?=]{1,211}$/;
const REALISATION = /^sha256:([0-9a-f]{64})!(.+)\.doi$/;
// debuginfo/<build id>: the bare form is what cache.nixos.org's channel scripts wrote, `.debug` is what
// `index-debug-info` writes (docs/protocol.md, "debuginfo"); both are separate objects.
const DEBUGINFO = /^[0-9a-f]{40}(\.debug)?$/;

function decodeSegments(pathname: string): string[] {
  return pathname
    .slice(1)
    .split("/")
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw new BadPath("malformed percent-encoding");
      }
    });
}

function storeHash(text: string): string {
  try {
    return parseStorePathHash(text);
  } catch (e) {
    if (e instanceof FormatError) throw new BadPath("invalid store path hash");
    throw e;
  }
}

function derivationBaseName(text: string): { hash: string } {
  if (!text.endsWith(".drv")) throw new BadPath("not a derivation name");
  try {
    return parseStorePathBaseName(text);
  } catch (e) {
    if (e instanceof FormatError) throw new BadPath("invalid derivation name");
    throw e;
  }
}

function outputName(text: string): string {
  if (!OUTPUT_NAME.test(text) || text === "." || text === "..") throw new BadPath("invalid output name");
  return text;
}

/** Maps a URL path to a route, `null` for paths that are not part of the protocol, or throws `BadPath`. */
export function parseRoute(pathname: string): Route | null {
  if (pathname === "/" || pathname === "") return { kind: "landing" };
  const segments = decodeSegments(pathname);
  if (segments.some((s) => s.includes("/") || s.includes("\\") || /[\x00-\x1f\x7f]/.test(s))) {
    throw new BadPath("invalid characters in path");
  }
  const [first, second, third] = segments;
  if (first === undefined) return null;

  if (segments.length === 1) {
    if (first === "nix-cache-info") return { kind: "cache-info" };
    // For probes (docs/observability.md); no Nix object has a top-level key without an extension.
    if (first === "health") return { kind: "health" };
    if (first.endsWith(".narinfo")) {
      const hash = storeHash(first.slice(0, -".narinfo".length));
      return { kind: "narinfo", hash, key: `${hash}.narinfo` };
    }
    if (first.endsWith(".ls")) {
      const hash = storeHash(first.slice(0, -".ls".length));
      return { kind: "listing", hash, key: `${hash}.ls` };
    }
    return null;
  }

  if (segments.length === 2 && second !== undefined) {
    switch (first) {
      case "nar":
        if (!NAR_FILE.test(second)) throw new BadPath("invalid NAR file name");
        return { kind: "nar", key: `nar/${second}` };
      case "log": {
        const { hash } = derivationBaseName(second);
        return { kind: "log", hash, key: `log/${second}` };
      }
      case "realisations": {
        // Nix ≤ 2.34: realisations/<drv output id>.doi, the id being "sha256:<base16 drv hash>!<output>".
        const m = REALISATION.exec(second);
        if (!m || m[2] === undefined) throw new BadPath("invalid realisation id");
        outputName(m[2]);
        return { kind: "realisation", key: `realisations/${second}` };
      }
      case "debuginfo":
        if (!DEBUGINFO.test(second)) throw new BadPath("invalid build id");
        return { kind: "debuginfo", key: `debuginfo/${second}` };
    }
    return null;
  }

  if (segments.length === 3 && first === "nar" && second !== undefined && third !== undefined) {
    // Deeper NAR URLs such as snix's nar/snix-castore/<blob> (docs/protocol.md, "NAR URLs"). Each segment obeys the
    // same rule as a flat name, so none can be empty, "." or "..", and the key stays under nar/.
    if (!NAR_FILE.test(second) || !NAR_FILE.test(third)) throw new BadPath("invalid NAR file name");
    return { kind: "nar", key: `nar/${second}/${third}` };
  }

  if (segments.length === 3 && first === "build-trace-v2" && second !== undefined && third !== undefined) {
    // Nix ≥ 2.35: build-trace-v2/<drv base name>/<output>.doi
    const { hash } = derivationBaseName(second);
    if (!third.endsWith(".doi")) throw new BadPath("invalid build trace name");
    outputName(third.slice(0, -".doi".length));
    return { kind: "build-trace", hash, key: `build-trace-v2/${second}/${third}` };
  }
  return null;
}

/**
 * The content type each kind of object is served with (what `nix copy --to` uploads it with). The table is JSON so
 * that the node-side scripts that upload caches (scripts/lib/content-type.mjs) read the very same one; the type
 * below makes a route kind missing from it a compile error.
 */
const CONTENT_TYPES: Record<Route["kind"], string> = contentTypes;

export function contentTypeOf(route: Route): string {
  return CONTENT_TYPES[route.kind];
}
