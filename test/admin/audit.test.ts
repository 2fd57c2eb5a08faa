import { afterEach, describe, expect, it } from "vitest";
import { auditRows, bindings, callAdmin, envs, fakeCloudflareApi, restoreFetch, TOKENS } from "./harness";

afterEach(restoreFetch);

describe("GET /v1/audit", () => {
  it("lists every mutating call newest first: who (token id), what, when, result", async () => {
    fakeCloudflareApi();
    const { admin } = await envs();
    const hash = "00000000000000000000000000000009";
    await callAdmin(admin, "POST", "/v1/purge", { token: "purge", body: { paths: [hash] } });
    await callAdmin(admin, "POST", "/v1/block", { token: "block", body: { paths: [hash], reason: "audit test" } });
    await callAdmin(admin, "DELETE", `/v1/block/${hash}`, { token: "block" });
    await callAdmin(admin, "POST", "/v1/delete", { token: "purge", body: { paths: [hash] } });
    await callAdmin(admin, "POST", "/v1/purge", { token: "purge", body: { paths: ["bad"] } });

    const res = await callAdmin(admin, "GET", "/v1/audit?limit=5", { token: "read" });
    expect(res.status).toBe(200);
    const records = res.json.records;
    expect(records.map((r: any) => [r.actor, r.action, r.result, r.status])).toEqual([
      ["purge-admin", "purge", "invalid", 400],
      ["purge-admin", "delete", "refused", 403],
      ["block-admin", "unblock", "ok", 200],
      ["block-admin", "block", "ok", 200],
      ["purge-admin", "purge", "ok", 200],
    ]);
    expect(records[4].request).toEqual({ paths: [hash] });
    expect(records[4].detail.urls).toEqual([`${admin.PUBLIC_URL}/${hash}.narinfo`, `${admin.PUBLIC_URL}/${hash}.ls`]);
    expect(records[3].request.reason).toBe("audit test");
    expect(Date.parse(records[0].at)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(records)).not.toContain(TOKENS.purge);

    const page = await callAdmin(admin, "GET", `/v1/audit?limit=2&action=purge`, { token: "read" });
    expect(page.json.records.map((r: any) => r.result)).toEqual(["invalid", "ok"]);
    const next = await callAdmin(admin, "GET", `/v1/audit${res.json.next}`, { token: "read" });
    expect(next.json.records.every((r: any) => r.id < records[4].id)).toBe(true);
    const byActor = await callAdmin(admin, "GET", `/v1/audit?actor=block-admin&limit=2`, { token: "read" });
    expect(byActor.json.records.map((r: any) => r.action)).toEqual(["unblock", "block"]);
  });

  it("refuses bad query parameters", async () => {
    const { admin } = await envs();
    for (const q of ["limit=0", "limit=501", "limit=x", "before=-1", "action=drop"]) {
      expect((await callAdmin(admin, "GET", `/v1/audit?${q}`, { token: "read" })).status, q).toBe(400);
    }
  });
});

/** The audit D1 binding with `batch` failing, so that recording a block throws inside the handler. */
function failingBatch(db: D1Database): D1Database {
  return {
    prepare: db.prepare.bind(db),
    batch: async () => {
      throw new Error("D1_ERROR: batch failed (test stand-in)");
    },
  } as unknown as D1Database;
}

describe("the audit trail: one row per mutating call, whatever happens", () => {
  it("repro: a handler that throws answers 500 and leaves one row saying it failed", async () => {
    fakeCloudflareApi();
    const { admin } = await envs({ AUDIT: failingBatch(bindings().AUDIT) });
    const before = (await auditRows()).length;
    const res = await callAdmin(admin, "POST", "/v1/block", {
      body: { paths: ["00000000000000000000000000000009"], reason: "throws" },
    });
    expect(res.status).toBe(500);
    expect(res.json.error).toEqual({ kind: "internal", message: "internal error" });
    const rows = (await auditRows()).slice(before);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: "all-admin", action: "block", result: "failed", status: 500 });
    expect(JSON.parse(rows[0]!.detail!).error).toMatch(/batch failed/);
    expect(rows[0]!.completed_at).not.toBeNull();
  });

  it("repro: the row is written before the action, so a call cut off midway leaves a pending row", async () => {
    const seen: { result: string; action: string; actor: string }[][] = [];
    // While the zone purge call is in flight, look at the audit table.
    fakeCloudflareApi([], undefined, async () => {
      seen.push((await auditRows()).slice(-1).map((r) => ({ result: r.result, action: r.action, actor: r.actor })));
    });
    const { admin } = await envs();
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: ["00000000000000000000000000000009"] } });
    expect(res.status).toBe(200);
    expect(seen).toEqual([[{ result: "pending", action: "purge", actor: "all-admin" }]]);
    expect((await auditRows()).at(-1)).toMatchObject({ action: "purge", result: "ok", status: 200 });
  });

  it("with the audit table unavailable a mutating call is refused with 503 before anything is done", async () => {
    const api = fakeCloudflareApi();
    const broken = {
      prepare: () => ({
        bind: () => ({
          first: async () => {
            throw new Error("D1 down (test stand-in)");
          },
        }),
      }),
    } as unknown as D1Database;
    const { admin } = await envs({ AUDIT: broken });
    const res = await callAdmin(admin, "POST", "/v1/purge", { body: { paths: ["00000000000000000000000000000009"] } });
    expect(res.status).toBe(503);
    expect(res.json.error.message).toBe("audit log unavailable; nothing was done");
    expect(api.calls).toHaveLength(0);
  });
});
