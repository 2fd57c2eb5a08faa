import { afterEach, describe, expect, it, vi } from "vitest";
import { auditRows, callAdmin, envs, fakeCloudflareApi, HOOK_SECRET, restoreFetch, TOKENS } from "./harness";

afterEach(restoreFetch);

const MUTATING: [string, string, unknown, string][] = [
  ["POST", "/v1/purge", { paths: ["00000000000000000000000000000001"] }, "purge"],
  ["POST", "/v1/block", { paths: ["00000000000000000000000000000001"], reason: "x" }, "block"],
  ["DELETE", "/v1/block/00000000000000000000000000000001", undefined, "block"],
  ["POST", "/v1/delete", { paths: ["00000000000000000000000000000001"] }, "delete"],
];
const READING: [string, string][] = [
  ["GET", "/v1/paths/00000000000000000000000000000001"],
  ["GET", "/v1/audit"],
];

function captureLogs() {
  const lines: string[] = [];
  for (const level of ["log", "warn", "error", "info", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  }
  return lines;
}

describe("authentication and scopes", () => {
  it("401 with WWW-Authenticate for a missing, malformed or unknown token, on every route", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const before = (await auditRows()).length;
    for (const [method, path, body] of [...MUTATING, ...READING.map(([m, p]) => [m, p, undefined] as const)]) {
      for (const [token, headers] of [
        [null, {}],
        [null, { authorization: "Basic YWRtaW46YWRtaW4=" }],
        [null, { authorization: "Bearer" }],
        ["not-a-known-token", {}],
        [TOKENS.all + "x", {}],
        [TOKENS.all.slice(0, -1), {}],
      ] as const) {
        const res = await callAdmin(admin, method, path, { token, body, headers });
        expect(res.status, `${method} ${path} ${token} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="nix-cache-admin"');
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(res.json.error).toEqual({ kind: "unauthorized", message: "missing or unknown bearer token" });
      }
    }
    // Every call to a mutating route leaves one row, authorized or not (actor "anonymous", never the token);
    // reading routes leave none.
    const rows = (await auditRows()).slice(before);
    expect(rows).toHaveLength(MUTATING.length * 6);
    for (const row of rows) expect(row).toMatchObject({ actor: "anonymous", result: "unauthorized", status: 401 });
    expect(JSON.stringify(rows)).not.toContain(TOKENS.all.slice(0, -1));
  });

  it("403 for a valid token without the route's scope, audited as refused", async () => {
    const api = fakeCloudflareApi();
    const { admin } = await envs();
    for (const [method, path, body, scope] of MUTATING) {
      const wrong = scope === "purge" ? "read" : "purge";
      const res = await callAdmin(admin, method, path, { token: wrong, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error).toEqual({ kind: "forbidden", message: `token lacks the "${scope}" scope` });
      expect((await auditRows()).at(-1)).toMatchObject({ actor: `${wrong}-admin`, result: "refused", status: 403 });
    }
    for (const [method, path] of READING) {
      const res = await callAdmin(admin, method, path, { token: "purge" });
      expect(res.status).toBe(403);
    }
    expect(api.calls).toHaveLength(0);
  });

  it("each scope opens exactly its routes", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    expect((await callAdmin(admin, "POST", "/v1/purge", { token: "purge", body: MUTATING[0]![2] })).status).toBe(200);
    expect((await callAdmin(admin, "GET", "/v1/audit", { token: "read" })).status).toBe(200);
    expect((await callAdmin(admin, "POST", "/v1/block", { token: "block", body: MUTATING[1]![2] })).status).toBe(200);
    expect(
      (await callAdmin(admin, "DELETE", "/v1/block/00000000000000000000000000000001", { token: "block" })).status,
    ).toBe(200);
    expect((await callAdmin(admin, "POST", "/v1/delete", { token: "delete", body: MUTATING[3]![2] })).status).toBe(200);
  });

  it("no token or secret appears in a response body, a log line or the audit log", async () => {
    fakeCloudflareApi();
    const lines = captureLogs();
    const { admin } = await envs();
    const bodies: string[] = [];
    for (const token of ["all", "read", "wrong-token-value-123"] as const) {
      for (const [method, path, body] of MUTATING)
        bodies.push((await callAdmin(admin, method, path, { token, body })).text);
    }
    bodies.push(
      (
        await callAdmin(admin, "POST", "/v1/hooks/object-created", {
          token: null,
          headers: { "x-hook-secret": "guess" },
          body: {},
        })
      ).text,
    );
    const everything = [...bodies, ...lines, JSON.stringify(await auditRows())].join("\n");
    for (const secret of [
      ...Object.values(TOKENS),
      "wrong-token-value-123",
      HOOK_SECRET,
      "guess",
      "cf-api-token-for-tests-only",
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(lines.some((l) => l.includes("admin-unauthorized"))).toBe(true);
  });

  it("with ADMIN_TOKENS unset every call is 401; a malformed ADMIN_TOKENS is 500 without echoing it", async () => {
    const unset = await envs({ ADMIN_TOKENS: undefined });
    expect((await callAdmin(unset.admin, "GET", "/v1/audit")).status).toBe(401);
    const secretish = '[{"id":"x","sha256":"not-hex-tok-all-Zp3q8Vn1c7XkR2","scopes":["read"]}]';
    const bad = await envs({ ADMIN_TOKENS: secretish });
    const res = await callAdmin(bad.admin, "GET", "/v1/audit");
    expect(res.status).toBe(500);
    expect(res.json.error).toEqual({ kind: "misconfigured", message: "admin worker misconfigured" });
    expect(res.text).not.toContain("not-hex");
    const plaintext = await envs({ ADMIN_TOKENS: '[{"id":"x","token":"abc","scopes":["read"]}]' });
    expect((await callAdmin(plaintext.admin, "GET", "/v1/audit")).status).toBe(500);
  });

  it("the upload hook needs its shared secret; with HOOK_SECRET unset it is closed", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const event = {
      "detail-type": "Object Created",
      source: "aws.s3",
      detail: { object: { key: "00000000000000000000000000000001.narinfo" } },
    };
    for (const headers of [
      {} as Record<string, string>,
      { "x-hook-secret": "wrong" },
      { "x-hook-secret": HOOK_SECRET.toUpperCase() },
      { "x-hook-secret": HOOK_SECRET.slice(0, -1) },
    ]) {
      const res = await callAdmin(admin, "POST", "/v1/hooks/object-created", { token: null, headers, body: event });
      expect(res.status).toBe(401);
    }
    // A bearer token is not the hook's credential.
    expect((await callAdmin(admin, "POST", "/v1/hooks/object-created", { token: "all", body: event })).status).toBe(
      401,
    );
    const closed = await envs({ HOOK_SECRET: undefined });
    expect(
      (
        await callAdmin(closed.admin, "POST", "/v1/hooks/object-created", {
          token: null,
          headers: { "x-hook-secret": "" },
          body: event,
        })
      ).status,
    ).toBe(401);
  });

  it("unknown routes are 404 and wrong methods 405 with Allow, as JSON with no-store", async () => {
    const { admin } = await envs();
    const notFound = await callAdmin(admin, "GET", "/v1/nothing");
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("cache-control")).toBe("no-store");
    expect(notFound.json.error.kind).toBe("not-found");
    const wrong = await callAdmin(admin, "GET", "/v1/purge");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await callAdmin(admin, "PUT", "/v1/block/00000000000000000000000000000001")).headers.get("allow")).toBe(
      "DELETE",
    );
  });

  it("PUBLIC_URL is required", async () => {
    const { admin } = await envs({ PUBLIC_URL: "" });
    const res = await callAdmin(admin, "GET", "/v1/audit");
    expect(res.status).toBe(500);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});
