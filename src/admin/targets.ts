/**
 * What an admin names, parsed at the boundary. Store paths: a store path (`/nix/store/<hash>-<name>`), a base
 * name (`<hash>-<name>`), a bare hash, or a narinfo URL (`https://cache.example.org/<hash>.narinfo`,
 * `/<hash>.narinfo`, `<hash>.narinfo`). Objects that belong to no store path — realisations, build traces,
 * debuginfo files — by their URL or URL path (`realisations/sha256:…!out.doi`, `/debuginfo/<build id>`), parsed by
 * the cache worker's own route table.
 */
import { FormatError } from "../narinfo/errors";
import { parseStorePath, parseStorePathBaseName, parseStorePathHash } from "../narinfo/storePath";
import { BadPath, parseRoute, type Route } from "../routing/routes";
import { objectKey, pathKey } from "../serve/denylist";
import { invalid, type ActionOutcome } from "./action";
import { optionalBoolean, unknownFields } from "./requestBody";

type ObjectRoute = Extract<Route, { kind: "realisation" | "build-trace" | "debuginfo" }>;

export type Target =
  | {
      kind: "path";
      /** As the caller wrote it, echoed back in results. */
      input: string;
      hash: string;
      /** Only when the input was a store path or base name. */
      name?: string;
    }
  | { kind: "object"; input: string; route: ObjectRoute };

/** The name of a target's explicit block record (docs/admin.md, "The block model"). */
export const subjectOf = (t: Target): string => (t.kind === "path" ? pathKey(t.hash) : objectKey(t.route.key));

/**
 * Each target costs a narinfo lookup per origin, a few Cache API deletes and its share of purge calls, all
 * subrequests; 100 stay well inside the Workers subrequest limit (1000 per request on paid plans).
 */
const MAX_TARGETS = 100;

const OBJECT_PATH = /^(?:https?:\/\/[^/]+)?\/?((?:realisations|build-trace-v2|debuginfo)\/.*)$/;

function parseObject(path: string): ObjectRoute {
  let route: Route | null;
  try {
    route = parseRoute("/" + path);
  } catch (e) {
    if (e instanceof BadPath) throw new FormatError("object", e.message);
    throw e;
  }
  if (route?.kind !== "realisation" && route?.kind !== "build-trace" && route?.kind !== "debuginfo") {
    throw new FormatError("object", "not a realisation, build trace or debuginfo path");
  }
  return route;
}

export function parseTarget(input: string, storeDir: string): Target {
  if (input.startsWith(storeDir + "/")) {
    const p = parseStorePath(input.replace(/\/+$/, ""), storeDir);
    return { kind: "path", input, hash: p.hash, name: p.name };
  }
  const object = OBJECT_PATH.exec(input.replace(/[?#].*$/, ""));
  if (object?.[1] !== undefined) return { kind: "object", input, route: parseObject(object[1]) };
  const narinfo = /(?:^|\/)([^/]+)\.narinfo$/.exec(input.replace(/[?#].*$/, ""));
  if (narinfo?.[1] !== undefined) {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(input) && !/^https?:\/\//.test(input))
      throw new FormatError("narinfo URL", "must be http(s)");
    return { kind: "path", input, hash: parseStorePathHash(narinfo[1]) };
  }
  if (input.includes("/")) {
    throw new FormatError(
      "path",
      `not a store path under ${storeDir}, a hash, a narinfo URL or a realisation, build trace or debuginfo path`,
    );
  }
  if (input.length > 32) {
    const p = parseStorePathBaseName(input);
    return { kind: "path", input, hash: p.hash, name: p.name };
  }
  return { kind: "path", input, hash: parseStorePathHash(input) };
}

type TargetsResult = { ok: true; targets: Target[] } | { ok: false; detail: string };

/** All or nothing: one bad entry refuses the call, naming every bad entry, before anything is changed. */
export function parseTargets(value: unknown, storeDir: string): TargetsResult {
  if (!Array.isArray(value) || value.length === 0)
    return { ok: false, detail: '"paths" must be a non-empty array of strings' };
  if (value.length > MAX_TARGETS)
    return { ok: false, detail: `at most ${MAX_TARGETS} paths per call (got ${value.length})` };
  const targets: Target[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, i) => {
    if (typeof item !== "string" || item.length === 0 || item.length > 1024) {
      problems.push(`paths[${i}]: not a non-empty string`);
      return;
    }
    try {
      const target = parseTarget(item.trim(), storeDir);
      const subject = subjectOf(target);
      if (seen.has(subject)) return;
      seen.add(subject);
      targets.push(target);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      problems.push(`paths[${i}] ${JSON.stringify(item.slice(0, 120))}: ${e.what}: ${e.message}`);
    }
  });
  return problems.length > 0 ? { ok: false, detail: problems.join("; ") } : { ok: true, targets };
}

type PathsRequest = { ok: true; targets: Target[]; dryRun: boolean } | { ok: false; outcome: ActionOutcome };

/** The body of purge and delete: `{"paths": [...], "dry_run"?: bool}`, nothing else. */
export function parsePathsRequest(body: Record<string, unknown>, storeDir: string): PathsRequest {
  const request = { paths: body.paths, dry_run: body.dry_run };
  const extra = unknownFields(body, ["paths", "dry_run"]);
  if (extra) return { ok: false, outcome: invalid(extra, request) };
  const dryRun = optionalBoolean(body, "dry_run");
  if (!dryRun.ok) return { ok: false, outcome: invalid(dryRun.error, request) };
  const parsed = parseTargets(body.paths, storeDir);
  if (!parsed.ok) return { ok: false, outcome: invalid({ kind: "bad-request", detail: parsed.detail }, request) };
  return { ok: true, targets: parsed.targets, dryRun: dryRun.value };
}
