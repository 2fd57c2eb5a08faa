/**
 * Turns the worker's vars and secrets into a typed configuration once per isolate and env. The parsed config holds
 * the origin objects and their circuit breakers: the only state that outlives a request.
 */
import { bindingNamed, type Env } from "./env";
import { FormatError } from "./narinfo/errors";
import { parseSecretKey, parseTrustedPublicKeys, type PublicKey, type SecretKey } from "./narinfo/keys";
import type { NixCacheInfo } from "./narinfo/nixCacheInfo";
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerSettings } from "./origins/breaker";
import type { ChainLink } from "./origins/chain";
import { HttpOrigin } from "./origins/http";
import type { Origin } from "./origins/origin";
import { R2Origin } from "./origins/r2";
import { S3Origin } from "./origins/s3";
import { DEFAULT_TIMEOUTS, type Timeouts } from "./origins/timeouts";
import { DEFAULT_REFRESH_SECONDS, HeldDenylist } from "./serve/denylist";

export class ConfigError extends Error {}

export interface CacheConfig {
  chain: ChainLink[];
  trustedKeys: PublicKey[];
  signingKey?: SecretKey;
  /** Seconds: narinfos and files the worker could not verify (NARINFO_TTL), "not found" narinfos, checked NARs. */
  ttl: { narinfo: number; negative: number; nar: number };
  cacheInfo: NixCacheInfo;
  publicUrl?: string;
  /** The Cache API keeps objects up to 512 MB; larger ones stream through uncached. */
  maxEdgeObjectBytes: number;
  /** Hash-named NARs up to this size are read whole and checked before anything is sent (docs/request-flow.md). */
  verifyBeforeSendMaxBytes: number;
  denylist?: KVNamespace;
  /** Whether Server-Timing names each origin and its outcome (SERVER_TIMING_ORIGINS); otherwise only durations. */
  serverTimingOrigins: boolean;
  /** How often an isolate re-reads the denylist document from KV (docs/admin.md, "The block model"). */
  denylistRefreshSeconds: number;
  /** This isolate's copy of the denylist document. */
  heldDenylist: HeldDenylist;
}

export const DEFAULTS = {
  narinfoTtl: 86_400,
  negativeTtl: 300,
  narTtl: 31_536_000,
  storeDir: "/nix/store",
  wantMassQuery: true,
  priority: 40,
  maxEdgeObjectBytes: 512 * 1024 * 1024,
  verifyBeforeSendMaxBytes: 8 * 1024 * 1024,
  /** The bound on what one request may hold in memory (docs/request-flow.md, "The body of a miss"). */
  verifyBeforeSendCap: 16 * 1024 * 1024,
  denylistRefreshSeconds: DEFAULT_REFRESH_SECONDS,
} as const;

const DEFAULT_ORIGINS = [{ type: "r2", binding: "NAR_BUCKET" }];

/**
 * The fields each origin type accepts (docs/configuration.md#origins). Any other field is refused: a misspelt
 * optional field (`requesterpays`, `backfil`) would otherwise be ignored silently and change what the cache does.
 * A new field goes into its type's list here (into all three when every origin takes it) and nowhere else.
 */
export const ORIGIN_FIELDS = {
  r2: ["type", "name", "breakerFailures", "breakerCooldown", "narNames", "trusted", "binding", "backfill"],
  http: [
    "type",
    "name",
    "breakerFailures",
    "breakerCooldown",
    "narNames",
    "trusted",
    "firstByteTimeout",
    "betweenBytesTimeout",
    "url",
  ],
  s3: [
    "type",
    "name",
    "breakerFailures",
    "breakerCooldown",
    "narNames",
    "trusted",
    "firstByteTimeout",
    "betweenBytesTimeout",
    "bucket",
    "endpoint",
    "region",
    "requesterPays",
    "credentials",
  ],
} as const satisfies Record<string, readonly string[]>;

type OriginType = keyof typeof ORIGIN_FIELDS;

function isOriginType(type: unknown): type is OriginType {
  return typeof type === "string" && Object.hasOwn(ORIGIN_FIELDS, type);
}

function refuseUnknownFields(spec: Record<string, unknown>, type: OriginType, where: string): void {
  const allowed: readonly string[] = ORIGIN_FIELDS[type];
  for (const field of Object.keys(spec)) {
    if (allowed.includes(field)) continue;
    const sameLetters = allowed.find((a) => a.toLowerCase() === field.toLowerCase());
    const hint = sameLetters ? ` (did you mean "${sameLetters}"?)` : "";
    throw new ConfigError(
      `${where}: unknown field "${field}" for a ${type} origin${hint}; allowed: ${allowed.join(", ")}`,
    );
  }
}

function wholeNumber(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a whole number`);
  return n;
}

/** The one reading of a boolean var, for both workers: true/1 and false/0 (or unset: the fallback). */
export function parseBool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === true || value === 1 || value === "1" || value === "true") return true;
  if (value === false || value === 0 || value === "0" || value === "false") return false;
  throw new ConfigError(`${name} must be true or false`);
}

function str(spec: Record<string, unknown>, field: string, where: string, required: true): string;
function str(spec: Record<string, unknown>, field: string, where: string, required: false): string | undefined;
function str(spec: Record<string, unknown>, field: string, where: string, required: boolean): string | undefined {
  const value = spec[field];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || value === "")
    throw new ConfigError(`${where}: "${field}" must be a non-empty string`);
  return value;
}

function originTimeouts(spec: Record<string, unknown>, where: string): Timeouts {
  return {
    firstByteMs:
      wholeNumber(spec.firstByteTimeout, `${where}.firstByteTimeout`, DEFAULT_TIMEOUTS.firstByteMs / 1000) * 1000,
    betweenBytesMs:
      wholeNumber(spec.betweenBytesTimeout, `${where}.betweenBytesTimeout`, DEFAULT_TIMEOUTS.betweenBytesMs / 1000) *
      1000,
  };
}

function breakerSettings(spec: Record<string, unknown>, where: string): BreakerSettings {
  return {
    failures: wholeNumber(spec.breakerFailures, `${where}.breakerFailures`, DEFAULT_BREAKER.failures) || 1,
    cooldownMs: wholeNumber(spec.breakerCooldown, `${where}.breakerCooldown`, DEFAULT_BREAKER.cooldownMs / 1000) * 1000,
  };
}

/**
 * Parses ORIGINS. `bindings` is the worker's env (cache or admin): R2 bindings and S3 credential secrets are looked
 * up in it by the names the origins give.
 */
export function parseOrigins(value: unknown, bindings: object): ChainLink[] {
  let specs: unknown = value ?? DEFAULT_ORIGINS;
  if (typeof specs === "string") {
    try {
      specs = JSON.parse(specs);
    } catch {
      throw new ConfigError("ORIGINS is not valid JSON");
    }
  }
  if (!Array.isArray(specs) || specs.length === 0) throw new ConfigError("ORIGINS must be a non-empty array");
  const names = new Set<string>();
  return specs.map((raw: unknown, i): ChainLink => {
    const where = `ORIGINS[${i}]`;
    if (typeof raw !== "object" || raw === null) throw new ConfigError(`${where} must be a table`);
    const spec = raw as Record<string, unknown>;
    const type = spec.type;
    if (!isOriginType(type)) {
      throw new ConfigError(
        `${where}: unknown type ${JSON.stringify(type)} (${Object.keys(ORIGIN_FIELDS).join(", ")})`,
      );
    }
    refuseUnknownFields(spec, type, where);
    let origin: Origin;
    let backfill: R2Bucket | undefined;
    if (type === "r2") {
      const binding = str(spec, "binding", where, true);
      const bucket = bindingNamed(bindings, binding) as R2Bucket | undefined;
      if (!bucket || typeof bucket.get !== "function") throw new ConfigError(`${where}: no R2 binding "${binding}"`);
      origin = new R2Origin(str(spec, "name", where, false) ?? `r2:${binding}`, bucket);
      if (parseBool(spec.backfill, `${where}.backfill`, false)) backfill = bucket;
    } else if (type === "http") {
      const url = str(spec, "url", where, true);
      if (!/^https?:\/\//.test(url)) throw new ConfigError(`${where}: "url" must be http(s)`);
      origin = new HttpOrigin(str(spec, "name", where, false) ?? url, url, originTimeouts(spec, where));
    } else {
      const bucket = str(spec, "bucket", where, true);
      const endpoint = str(spec, "endpoint", where, false);
      if (endpoint !== undefined && !/^https?:\/\//.test(endpoint))
        throw new ConfigError(`${where}: "endpoint" must be http(s)`);
      const credentials = str(spec, "credentials", where, true);
      const accessKeyId = bindingNamed(bindings, `${credentials}_ACCESS_KEY_ID`);
      const secretAccessKey = bindingNamed(bindings, `${credentials}_SECRET_ACCESS_KEY`);
      if (typeof accessKeyId !== "string" || typeof secretAccessKey !== "string" || !accessKeyId || !secretAccessKey) {
        throw new ConfigError(
          `${where}: secrets ${credentials}_ACCESS_KEY_ID and ${credentials}_SECRET_ACCESS_KEY are not set`,
        );
      }
      origin = new S3Origin(
        str(spec, "name", where, false) ?? `s3:${bucket}`,
        {
          endpoint,
          bucket,
          region: str(spec, "region", where, false) ?? "us-east-1",
          requesterPays: parseBool(spec.requesterPays, `${where}.requesterPays`, false),
        },
        { accessKeyId, secretAccessKey },
        originTimeouts(spec, where),
      );
    }
    if (names.has(origin.name)) throw new ConfigError(`${where}: duplicate origin name "${origin.name}"`);
    names.add(origin.name);
    const narNames = spec.narNames ?? "file-hash";
    if (narNames !== "file-hash" && narNames !== "opaque")
      throw new ConfigError(`${where}: "narNames" must be "file-hash" or "opaque"`);
    // Buckets are the operator's own; an upstream HTTP cache is someone else's (docs/configuration.md, Origins).
    const trusted = parseBool(spec.trusted, `${where}.trusted`, type !== "http");
    return {
      origin,
      breaker: new CircuitBreaker(breakerSettings(spec, where)),
      backfill,
      corrupt: new Map(),
      narNames,
      trusted,
    };
  });
}

/** The one reading of TRUSTED_PUBLIC_KEYS, for both workers. The message names the field, never key material. */
export function parseTrustedKeysVar(value: string | undefined): PublicKey[] {
  try {
    return parseTrustedPublicKeys(value ?? "");
  } catch (e) {
    if (e instanceof FormatError) throw new ConfigError(`TRUSTED_PUBLIC_KEYS: ${e.what}: ${e.message}`);
    throw e;
  }
}

/** A config parsed once per env object and isolate (it holds the origins' circuit breakers), for both workers. */
export function cachedPerEnv<E extends object, C>(parse: (env: E) => C): (env: E) => C {
  const parsed = new WeakMap<E, C>();
  return (env) => {
    let config = parsed.get(env);
    if (config === undefined) {
      config = parse(env);
      parsed.set(env, config);
    }
    return config;
  };
}

export function parseConfig(env: Env): CacheConfig {
  const trustedKeys = parseTrustedKeysVar(env.TRUSTED_PUBLIC_KEYS);
  let signingKey: SecretKey | undefined;
  try {
    signingKey = env.SIGNING_KEY ? parseSecretKey(env.SIGNING_KEY) : undefined;
  } catch (e) {
    // The message names the field, never the key material.
    if (e instanceof FormatError) throw new ConfigError(`${e.what}: ${e.message}`);
    throw e;
  }
  // Failing closed: with no trusted key every narinfo would be refused, which would look like an empty cache.
  if (trustedKeys.length === 0) throw new ConfigError("TRUSTED_PUBLIC_KEYS is empty");
  const priority = wholeNumber(env.PRIORITY, "PRIORITY", DEFAULTS.priority);
  return {
    chain: parseOrigins(env.ORIGINS, env),
    trustedKeys,
    signingKey,
    ttl: {
      narinfo: wholeNumber(env.NARINFO_TTL, "NARINFO_TTL", DEFAULTS.narinfoTtl),
      negative: wholeNumber(env.NEGATIVE_TTL, "NEGATIVE_TTL", DEFAULTS.negativeTtl),
      nar: wholeNumber(env.NAR_TTL, "NAR_TTL", DEFAULTS.narTtl),
    },
    cacheInfo: {
      storeDir: env.STORE_DIR || DEFAULTS.storeDir,
      wantMassQuery: parseBool(env.WANT_MASS_QUERY, "WANT_MASS_QUERY", DEFAULTS.wantMassQuery),
      priority,
    },
    publicUrl: env.PUBLIC_URL || undefined,
    maxEdgeObjectBytes: Math.min(
      wholeNumber(env.EDGE_CACHE_MAX_BYTES, "EDGE_CACHE_MAX_BYTES", DEFAULTS.maxEdgeObjectBytes),
      DEFAULTS.maxEdgeObjectBytes,
    ),
    verifyBeforeSendMaxBytes: Math.min(
      wholeNumber(env.VERIFY_BEFORE_SEND_MAX_BYTES, "VERIFY_BEFORE_SEND_MAX_BYTES", DEFAULTS.verifyBeforeSendMaxBytes),
      DEFAULTS.verifyBeforeSendCap,
    ),
    denylist: env.DENYLIST,
    serverTimingOrigins: parseBool(env.SERVER_TIMING_ORIGINS, "SERVER_TIMING_ORIGINS", false),
    denylistRefreshSeconds: wholeNumber(
      env.DENYLIST_REFRESH_SECONDS,
      "DENYLIST_REFRESH_SECONDS",
      DEFAULTS.denylistRefreshSeconds,
    ),
    heldDenylist: new HeldDenylist(),
  };
}

/** Parsed config for this env; cached per isolate so breakers, imported keys and the denylist persist. */
export const configFor = cachedPerEnv(parseConfig);
