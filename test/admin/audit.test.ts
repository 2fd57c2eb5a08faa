import { afterEach, describe, expect, it } from "vitest";
import { callAdmin, envs, fakeCloudflareApi, restoreFetch, TOKENS } from "./harness";

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
