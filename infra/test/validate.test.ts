// lib/validate.nix: each mistake in the inventory stops evaluation with a message naming the
// host, address or alias at fault. Every output is guarded, so any attribute would do;
// machinesFile and records are what Hydra and DNS would have received.
import { describe, expect, it } from "vitest";
import { evalError, evalInfra, fixture } from "./nix";

const invalid = (name: string) => fixture("invalid", `${name}.nix`);

describe("inventory validation", () => {
  it("accepts the test inventory and the real one", () => {
    expect(() => evalInfra("machinesFile", fixture("inventory.nix"))).not.toThrow();
    expect(() => evalInfra("records")).not.toThrow();
  });

  it.each([
    ["duplicate-address", 'duplicate address 2001:DB8:0::0010: claimed by host "arm" and host "hydra"'],
    ["duplicate-name", 'duplicate name cache.example-nix.org: claimed by host "cache" and the production cache worker hostname'],
    ["no-systems", 'host "arm": no systems (list at least its own platform, e.g. "x86_64-linux")'],
    ["builder-no-key", 'builder "big": SSH host key missing (hostKey); Hydra pins it in the machines file. Get it with `ssh-keyscan -t ed25519 big.example-nix.org`'],
    ["alias-to-nowhere", 'mail alias "ops@example-nix.org" forwards to "nobody@example-nix.org", which goes nowhere: it is not an alias and this server has no mailboxes'],
    ["alias-empty", 'mail alias "ops@example-nix.org" forwards to nowhere (empty target list)'],
    ["alias-loop", "mail aliases loop through ops@example-nix.org, postmaster@example-nix.org: mail to them never reaches a mailbox"],
    ["alias-foreign-domain", 'mail alias "info@example-nix.dev": example-nix.dev is not a mail domain (domains.<name>.mail = true)'],
    ["no-postmaster", 'mail domain "example-nix.org": no postmaster@example-nix.org alias (RFC 5321 section 4.5.1 requires one)'],
    ["unknown-provider", 'host "arm": provider "aws" has no module in modules/providers/ (known: hetzner-cloud)'],
    ["bad-address", 'host "big": ipv4 "192.0.2.300" is not an IPv4 address'],
  ])("%s", (name, message) => {
    for (const attr of ["machinesFile", "records"]) {
      const err = evalError(attr, invalid(name));
      expect(err).toContain("inventory is invalid:");
      expect(err).toContain(`- ${message}\n`);
    }
  });

  it("reports every problem in one evaluation, each once", () => {
    const err = evalError("machinesFile", invalid("two-problems"));
    const problems = err.split("\n").filter((l) => l.trim().startsWith("- "));
    expect(problems.map((l) => l.trim())).toEqual([
      '- host "arm": no systems (list at least its own platform, e.g. "x86_64-linux")',
      '- builder "big": SSH host key missing (hostKey); Hydra pins it in the machines file. Get it with `ssh-keyscan -t ed25519 big.example-nix.org`',
    ]);
  });
});
