import { env as baseEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, ORIGIN_FIELDS, parseConfig, parseOrigins } from "../../src/config";
import type { Env } from "../../src/env";
import { TEST_KEY } from "./harness";

const env = (overrides: Partial<Env>): Env => ({ ...baseEnv, TRUSTED_PUBLIC_KEYS: TEST_KEY(), ...overrides });

describe("configuration", () => {
  it("accepts ORIGINS as an array of tables or as the same JSON string", () => {
    const origins = [
      { type: "r2", binding: "NAR_BUCKET", backfill: true },
      { type: "http", url: "https://cache.nixos.org" },
    ];
    for (const value of [origins, JSON.stringify(origins)]) {
      const config = parseConfig(env({ ORIGINS: value }));
      expect(config.chain.map((l) => l.origin.name)).toEqual(["r2:NAR_BUCKET", "https://cache.nixos.org"]);
      expect(config.chain[0]!.backfill).toBeDefined();
      expect(config.chain[1]!.backfill).toBeUndefined();
    }
  });

  it("defaults: R2 origin, cache.nixos.org's nix-cache-info, TTLs", () => {
    const config = parseConfig(
      env({
        ORIGINS: undefined,
        NARINFO_TTL: undefined,
        NEGATIVE_TTL: undefined,
        NAR_TTL: undefined,
        PRIORITY: undefined,
        WANT_MASS_QUERY: undefined,
        STORE_DIR: undefined,
      }),
    );
    expect(config.chain.map((l) => l.origin.type)).toEqual(["r2"]);
    expect(config.cacheInfo).toEqual({ storeDir: "/nix/store", wantMassQuery: true, priority: 40 });
    expect(config.ttl).toMatchObject({ narinfo: 86400, negative: 300, nar: 31536000 });
  });

  it("read path: VERIFY_BEFORE_SEND_MAX_BYTES is 8 MiB by default, 16 MiB at most; origins trusted by type", () => {
    expect(parseConfig(env({ VERIFY_BEFORE_SEND_MAX_BYTES: undefined })).verifyBeforeSendMaxBytes).toBe(
      8 * 1024 * 1024,
    );
    expect(parseConfig(env({ VERIFY_BEFORE_SEND_MAX_BYTES: String(1024 ** 3) })).verifyBeforeSendMaxBytes).toBe(
      16 * 1024 * 1024,
    );
    const origins = [
      { type: "r2", binding: "NAR_BUCKET" },
      { type: "http", url: "https://cache.nixos.org" },
      { type: "http", name: "ncps", url: "https://ncps.example", narNames: "opaque", trusted: true },
    ];
    const chain = parseConfig(env({ ORIGINS: origins })).chain;
    expect(chain.map((l) => [l.trusted, l.narNames])).toEqual([
      [true, "file-hash"],
      [false, "file-hash"],
      [true, "opaque"],
    ]);
    expect(parseConfig(env({ SERVER_TIMING_ORIGINS: undefined })).serverTimingOrigins).toBe(false);
  });

  it.each([
    [{ VERIFY_BEFORE_SEND_MAX_BYTES: "-1" }, "VERIFY_BEFORE_SEND_MAX_BYTES must be a whole number"],
    [
      { ORIGINS: [{ type: "http", url: "https://x", narNames: "maybe" }] },
      'ORIGINS[0]: "narNames" must be "file-hash" or "opaque"',
    ],
    [{ ORIGINS: "not json" }, "ORIGINS is not valid JSON"],
    [{ ORIGINS: [] }, "ORIGINS must be a non-empty array"],
    [{ ORIGINS: [{ type: "ftp" }] }, 'ORIGINS[0]: unknown type "ftp"'],
    [{ ORIGINS: [{ type: "r2", binding: "NOPE" }] }, 'no R2 binding "NOPE"'],
    [{ ORIGINS: [{ type: "http", url: "file:///etc" }] }, '"url" must be http(s)'],
    [
      {
        ORIGINS: [
          { type: "http", url: "https://a" },
          { type: "http", url: "https://a" },
        ],
      },
      "duplicate origin name",
    ],
    [
      { ORIGINS: [{ type: "s3", bucket: "b", credentials: "X" }] },
      "X_ACCESS_KEY_ID and X_SECRET_ACCESS_KEY are not set",
    ],
    [{ NEGATIVE_TTL: "-1" }, "NEGATIVE_TTL must be a whole number"],
    [{ WANT_MASS_QUERY: "maybe" }, "WANT_MASS_QUERY must be true or false"],
    [{ TRUSTED_PUBLIC_KEYS: "" }, "TRUSTED_PUBLIC_KEYS is empty"],
    [{ TRUSTED_PUBLIC_KEYS: "nonsense" }, "public key"],
  ] as [Partial<Env>, string][])("rejects %j: %s", (overrides, message) => {
    expect(() => parseConfig(env(overrides))).toThrow(ConfigError);
    expect(() => parseConfig(env(overrides))).toThrow(message);
  });

  // An origin using every field its type allows, with the same value types as docs/configuration.md's examples.
  const everyField = {
    r2: {
      type: "r2",
      name: "r2",
      breakerFailures: 3,
      breakerCooldown: 30,
      narNames: "file-hash",
      trusted: true,
      binding: "NAR_BUCKET",
      backfill: true,
    },
    http: {
      type: "http",
      name: "up",
      breakerFailures: 3,
      breakerCooldown: 30,
      narNames: "opaque",
      trusted: false,
      firstByteTimeout: 15,
      betweenBytesTimeout: 10,
      url: "https://up.test",
    },
    s3: {
      type: "s3",
      name: "s3",
      breakerFailures: 3,
      breakerCooldown: 30,
      narNames: "file-hash",
      trusted: true,
      firstByteTimeout: 15,
      betweenBytesTimeout: 10,
      bucket: "b",
      endpoint: "https://s3.test",
      region: "eu-west-1",
      requesterPays: true,
      credentials: "S3",
    },
  };
  const s3Secrets = { S3_ACCESS_KEY_ID: "AKIDTEST", S3_SECRET_ACCESS_KEY: "test-secret-not-real" };

  it.each(Object.keys(ORIGIN_FIELDS) as (keyof typeof ORIGIN_FIELDS)[])(
    "a %s origin accepts every field it lists",
    (type) => {
      expect(Object.keys(everyField[type]).sort()).toEqual([...ORIGIN_FIELDS[type]].sort());
      const [link] = parseOrigins([everyField[type]], env(s3Secrets));
      expect(link!.origin.type).toBe(type);
    },
  );

  it.each([
    // Misspelt fields that used to be ignored silently.
    [{ ...everyField.s3, requesterpays: true }, "requesterpays", "s3", 'did you mean "requesterPays"?'],
    [{ ...everyField.r2, backfil: true }, "backfil", "r2", ""],
    [{ ...everyField.http, firstbytetimeout: 5 }, "firstbytetimeout", "http", 'did you mean "firstByteTimeout"?'],
    // Fields of another origin type.
    [{ ...everyField.http, backfill: true }, "backfill", "http", ""],
    [{ ...everyField.s3, backfill: true }, "backfill", "s3", ""],
    [{ ...everyField.r2, url: "https://up.test" }, "url", "r2", ""],
    [{ ...everyField.r2, firstByteTimeout: 5 }, "firstByteTimeout", "r2", ""],
    [{ ...everyField.http, bucket: "b" }, "bucket", "http", ""],
    [{ ...everyField.s3, url: "https://up.test" }, "url", "s3", ""],
    // Not a field at all; refused before the missing required field is reported.
    [{ type: "s3", bukcet: "b", credentials: "S3" }, "bukcet", "s3", ""],
  ] as [Record<string, unknown>, string, keyof typeof ORIGIN_FIELDS, string][])(
    "refuses field %s.%s, naming it and the fields a %s origin allows",
    (spec, field, type, hint) => {
      const parse = () => parseOrigins([everyField.r2, spec], env(s3Secrets));
      expect(parse).toThrow(ConfigError);
      expect(parse).toThrow(`ORIGINS[1]: unknown field "${field}" for a ${type} origin`);
      expect(parse).toThrow(`allowed: ${ORIGIN_FIELDS[type].join(", ")}`);
      if (hint) expect(parse).toThrow(hint);
      else expect(parse).not.toThrow("did you mean");
    },
  );

  it.each([[{ name: "x" }], [{ type: 2 }], [{ type: "R2", binding: "NAR_BUCKET" }], [{ type: "toString" }]])(
    "refuses an origin without a known type: %j",
    (spec) => {
      expect(() => parseOrigins([spec], env({}))).toThrow("ORIGINS[0]: unknown type");
      expect(() => parseOrigins([spec], env({}))).toThrow("(r2, http, s3)");
    },
  );

  it("looks up only the env's own bindings by name", () => {
    expect(() => parseOrigins([{ type: "r2", binding: "constructor" }], env({}))).toThrow(
      'no R2 binding "constructor"',
    );
    expect(() => parseOrigins([{ type: "s3", bucket: "b", credentials: "__proto__" }], env({}))).toThrow("are not set");
  });

  it("a bad SIGNING_KEY is refused without echoing the key", () => {
    const secret = "mykey:" + btoa("x".repeat(10));
    let message = "";
    try {
      parseConfig(env({ SIGNING_KEY: secret }));
    } catch (e) {
      message = String(e);
    }
    expect(message).toContain("secret key");
    expect(message).not.toContain(btoa("x".repeat(10)));
  });
});
