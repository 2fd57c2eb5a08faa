// Inventory -> DNS (lib/dns.nix): the record list and its zone-file rendering. The same records as
// OpenTofu resources are tested in tofu.test.ts.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type DnsRecord, evalInfra, fixture } from "./nix";

const golden = (name: string) => readFileSync(fixture("golden", name), "utf8");
const records = (inv = "inventory.nix") => evalInfra<DnsRecord[]>("records", fixture(inv));
const find = (rs: DnsRecord[], type: string, name: string) => rs.filter((r) => r.type === type && r.name === name);

describe("zone files", () => {
  it("match the golden files", () => {
    const zones = evalInfra<Record<string, string>>("zoneFiles", fixture("inventory.nix"));
    expect(Object.keys(zones).sort()).toEqual(["example-nix.dev", "example-nix.org"]);
    expect(zones["example-nix.org"]).toBe(golden("example-nix.org.zone"));
    expect(zones["example-nix.dev"]).toBe(golden("example-nix.dev.zone"));
  });

  it("split TXT values longer than 255 bytes into several strings (RFC 1035 §3.3)", () => {
    const zone = evalInfra<Record<string, string>>("zoneFiles", fixture("inventory.nix"))["example-nix.org"]!;
    const dkim = zone.split("\n").find((l) => l.startsWith("mail._domainkey."))!;
    const strings = [...dkim.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(strings.length).toBe(2);
    expect(strings.every((s) => s.length <= 255)).toBe(true);
  });

  it("give OpenTofu CAA as data, MX with priority, and comments within Cloudflare's 100-character limit", () => {
    const rs = evalInfra<{ resource: { cloudflare_dns_record: Record<string, Record<string, unknown>> } }>(
      "tofu",
      fixture("inventory.nix"),
    ).resource.cloudflare_dns_record;
    const caa = Object.values(rs).find((r) => r.type === "CAA" && r.name === "example-nix.dev")!;
    expect(caa.data).toEqual({ flags: 0, tag: "issue", value: "letsencrypt.org" });
    expect(caa.content).toBeUndefined();
    const mx = Object.values(rs).find((r) => r.type === "MX")!;
    expect(mx).toMatchObject({ content: "mx.example-nix.org", priority: 10, ttl: 300 });
    for (const r of Object.values(rs)) expect(String(r.comment).length).toBeLessThanOrEqual(100);
  });
});

describe("records", () => {
  it("give every host its A and/or AAAA, and nothing for a missing family", () => {
    const rs = records();
    expect(find(rs, "A", "hydra.example-nix.org").map((r) => r.content)).toEqual(["192.0.2.10"]);
    expect(find(rs, "AAAA", "hydra.example-nix.org").map((r) => r.content)).toEqual(["2001:db8::10"]);
    expect(find(rs, "A", "arm.example-nix.org")).toEqual([]); // IPv6-only builder
    expect(find(rs, "AAAA", "big.example-nix.org")).toEqual([]); // IPv4-only builder
  });

  it("leave the worker hostnames to Workers Custom Domains (Cloudflare creates their records)", () => {
    // A record of ours under these names would block the custom domain attachment.
    expect(records().filter((r) => r.name.startsWith("cache"))).toEqual([]);
    const zone = evalInfra<Record<string, string>>("zoneFiles", fixture("inventory.nix"))["example-nix.org"]!;
    expect(zone).toContain(
      "; cache.example-nix.org: Workers Custom Domain of nix-cache-edge (production), attached by OpenTofu\n",
    );
    expect(zone).toContain(
      "; cache-admin.example-nix.org: Workers Custom Domain of nix-cache-admin (production), attached by OpenTofu\n",
    );
  });

  it("include a builder added to the inventory", () => {
    const rs = records("inventory-extra-builder.nix");
    expect(find(rs, "A", "new.example-nix.org").map((r) => r.content)).toEqual(["192.0.2.23"]);
    expect(find(rs, "AAAA", "new.example-nix.org").map((r) => r.content)).toEqual(["2001:db8::23"]);
    expect(records().some((r) => r.name === "new.example-nix.org")).toBe(false);
  });

  it("give a mail domain MX, SPF, DKIM and DMARC", () => {
    const rs = records();
    expect(find(rs, "MX", "example-nix.org")).toMatchObject([{ content: "mx.example-nix.org", priority: 10 }]);
    expect(find(rs, "TXT", "example-nix.org").map((r) => r.content)).toEqual(["v=spf1 mx -all"]);
    const [dkim] = find(rs, "TXT", "mail._domainkey.example-nix.org");
    expect(dkim!.content).toMatch(/^v=DKIM1; k=rsa; p=MIIBIjAN[A-Za-z0-9+/]+=*$/);
    expect(find(rs, "TXT", "_dmarc.example-nix.org").map((r) => r.content)).toEqual([
      "v=DMARC1; p=reject; rua=mailto:postmaster@example-nix.org",
    ]);
    // SPF for the HELO name, which is what bounces are checked against.
    expect(find(rs, "TXT", "mx.example-nix.org").map((r) => r.content)).toEqual(["v=spf1 a -all"]);
  });

  it("give a zone without mail no MX, SPF or DMARC, but CAA", () => {
    const dev = records().filter((r) => r.zone === "example-nix.dev");
    expect(dev.map((r) => r.type)).toEqual(["CAA"]);
  });

  it("give a second mail domain its records, and warn instead of publishing an empty DKIM key", () => {
    const rs = records("inventory-second-mail-domain.nix");
    expect(find(rs, "MX", "example-nix.net")).toHaveLength(1);
    expect(find(rs, "TXT", "example-nix.net").map((r) => r.content)).toEqual(["v=spf1 mx -all"]);
    expect(find(rs, "TXT", "_dmarc.example-nix.net")).toHaveLength(1);
    expect(find(rs, "TXT", "mail._domainkey.example-nix.net")).toEqual([]);
    expect(evalInfra<string[]>("warnings", fixture("inventory-second-mail-domain.nix"))).toEqual([
      'domains."example-nix.net".dkimPublicKey is not set: no DKIM record for example-nix.net; ' +
        "generate the key pair, encrypt the private half as secrets/dkim-example-nix.net-mail.age " +
        'and put p= here (README "Secrets")',
    ]);
  });

  it("carry a reason on every record", () => {
    for (const r of records()) expect(r.comment.length).toBeGreaterThan(10);
  });
});

describe("mail forwards", () => {
  it("resolve alias chains to the external addresses", () => {
    expect(evalInfra("mailForwards", fixture("inventory.nix"))).toEqual({
      "ops@example-nix.org": ["alice@example.com"],
      "postmaster@example-nix.org": ["alice@example.com"],
    });
  });
});
