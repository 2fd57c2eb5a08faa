// lib/validate.nix: each mistake in the inventory stops evaluation with a message naming the host, address or
// alias at fault. Every output is guarded, so any attribute would do; machinesFile and records are what Hydra and
// DNS would have received. The last test checks that every message validate.nix can produce is listed here.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evalError, evalInfra, fixture, infraDir } from "./nix";

const invalid = (name: string) => fixture("invalid", `${name}.nix`);
const scratch = mkdtempSync(path.join(tmpdir(), "infra-validate-"));
/** The test inventory changed by one Nix expression (`base` is the inventory, `h` its hosts). */
function inline(name: string, expr: string): string {
  const file = path.join(scratch, `${name}.nix`);
  writeFileSync(file, `let base = import ${fixture("inventory.nix")}; h = base.hosts; in\n${expr}\n`);
  return file;
}
const host = (name: string, change: string) => `base // { hosts = h // { ${name} = h.${name} // ${change}; }; }`;
const env = (change: string) =>
  `base // { cloudflare = base.cloudflare // {
    environments.production = base.cloudflare.environments.production // ${change}; }; }`;
const alias = (change: string) => `base // { mail = base.mail // { aliases = base.mail.aliases // ${change}; }; }`;
const staging = `base.cloudflare.environments.production // {
  cacheHostname = "cache-staging"; adminHostname = "cache-admin-staging"; cacheWorker = "s"; adminWorker = "sa"; }`;

// [case, inventory file, message]
const cases: [string, string, string][] = [
  [
    "duplicate-address",
    invalid("duplicate-address"),
    'duplicate address 2001:DB8:0::0010: claimed by host "arm" and host "hydra"',
  ],
  [
    "duplicate-name",
    invalid("duplicate-name"),
    'duplicate name cache.example-nix.org: claimed by host "cache" and the production cache worker hostname',
  ],
  ["no-systems", invalid("no-systems"), 'host "arm": no systems (list at least its own platform, e.g. "x86_64-linux")'],
  [
    "builder-no-key",
    invalid("builder-no-key"),
    'builder "big": SSH host key missing (hostKey); Hydra pins it in the machines file. ' +
      "Get it with `ssh-keyscan -t ed25519 big.example-nix.org`",
  ],
  [
    "alias-to-nowhere",
    invalid("alias-to-nowhere"),
    'mail alias "ops@example-nix.org" forwards to "nobody@example-nix.org", which goes nowhere: ' +
      "it is not an alias and this server has no mailboxes",
  ],
  ["alias-empty", invalid("alias-empty"), 'mail alias "ops@example-nix.org" forwards to nowhere (empty target list)'],
  [
    "alias-loop",
    invalid("alias-loop"),
    "mail aliases loop through ops@example-nix.org, postmaster@example-nix.org: mail to them never reaches a mailbox",
  ],
  [
    "alias-foreign-domain",
    invalid("alias-foreign-domain"),
    'mail alias "info@example-nix.dev": example-nix.dev is not a mail domain (domains.<name>.mail = true)',
  ],
  [
    "no-postmaster",
    invalid("no-postmaster"),
    'mail domain "example-nix.org": no postmaster@example-nix.org alias (RFC 5321 section 4.5.1 requires one)',
  ],
  [
    "unknown-provider",
    invalid("unknown-provider"),
    'host "arm": provider "aws" has no module in modules/providers/ (known: hetzner-cloud)',
  ],
  ["bad-address", invalid("bad-address"), 'host "big": ipv4 "192.0.2.300" is not an IPv4 address'],
  [
    "bad-ipv6",
    inline("bad-ipv6", host("arm", '{ ipv6 = "2001:db8::g"; }')),
    'host "arm": ipv6 "2001:db8::g" is not an IPv6 address',
  ],
  [
    "no-address",
    inline("no-address", host("arm", "{ ipv6 = null; }")),
    'host "arm": no address (set ipv4 and/or ipv6)',
  ],
  [
    "bad-name",
    inline("bad-name", 'base // { hosts = h // { Big_1 = h.big // { ipv4 = "192.0.2.99"; }; }; }'),
    `host "Big_1": name is not a DNS label (lowercase letters, digits and '-', at most 63)`,
  ],
  [
    "bad-role",
    inline("bad-role", host("arm", '{ role = "cache"; }')),
    'host "arm": role "cache" is not one of hydra, builder, mail',
  ],
  [
    "bad-system",
    inline("bad-system", host("arm", '{ systems = [ "arm64" ]; }')),
    'host "arm": system "arm64" is not a Nix system such as "aarch64-linux"',
  ],
  [
    "bad-host-key",
    inline("bad-host-key", host("arm", '{ hostKey = "ssh-ed25519 AAAA arm@example"; }')),
    'host "arm": hostKey must be "<type> <base64>" as printed by `ssh-keyscan`, without a comment',
  ],
  [
    "no-state-version",
    inline("no-state-version", `base // { hosts = h // { arm = builtins.removeAttrs h.arm [ "stateVersion" ]; }; }`),
    'host "arm": stateVersion missing; set it to the NixOS release the host was first installed with ' +
      '(e.g. "26.05") and never change it',
  ],
  [
    "bad-state-version",
    inline("bad-state-version", host("arm", '{ stateVersion = "26"; }')),
    'host "arm": stateVersion "26" is not a NixOS release such as "26.05"',
  ],
  [
    "no-mailserver-state-version",
    inline(
      "no-mailserver-state-version",
      `base // { hosts = h // { mx = builtins.removeAttrs h.mx [ "mailserverStateVersion" ]; }; }`,
    ),
    'host "mx": mailserverStateVersion missing or not a positive integer ' +
      "(simple-nixos-mailserver's mailserver.stateVersion)",
  ],
  [
    "secrets-without-host-key",
    inline("secrets-without-host-key", host("mx", '{ hostKey = "ssh-rsa AAAAB3NzaC1yc2E"; }')),
    'host "mx": decrypts secrets (dkim-example-nix.org-mail) but has no ssh-ed25519 hostKey; ' +
      "agenix decrypts with it and the secrets are encrypted for it",
  ],
  [
    "bad-gc",
    inline("bad-gc", host("big", "{ gc = { minFreeGiB = 300; maxFreeGiB = 200; }; }")),
    'host "big": gc.minFreeGiB and gc.maxFreeGiB must be positive integers with minFreeGiB below maxFreeGiB',
  ],
  [
    "no-queue-runner-key",
    inline(
      "no-queue-runner-key",
      `base // { hosts = h // { hydra = builtins.removeAttrs h.hydra [ "queueRunnerKey" ]; }; }`,
    ),
    'host "hydra": queueRunnerKey missing or malformed; builders authorise this key for hydra-queue-runner',
  ],
  [
    "bad-max-jobs",
    inline("bad-max-jobs", host("big", "{ maxJobs = 0; }")),
    'builder "big": maxJobs must be a positive integer',
  ],
  [
    "bad-speed-factor",
    inline("bad-speed-factor", host("big", '{ speedFactor = "fast"; }')),
    'builder "big": speedFactor must be a positive integer',
  ],
  [
    "bad-feature",
    inline("bad-feature", host("big", '{ supportedFeatures = [ "big parallel" ]; }')),
    'builder "big": feature "big parallel" is not a feature name',
  ],
  [
    "two-hydras",
    inline(
      "two-hydras",
      'base // { hosts = h // { hydra2 = h.hydra // { ipv4 = "192.0.2.11"; ipv6 = "2001:db8::11"; }; }; }',
    ),
    'expected exactly one host with role "hydra", found 2',
  ],
  [
    "no-mail-host",
    inline("no-mail-host", 'base // { hosts = builtins.removeAttrs h [ "mx" ]; }'),
    'mail domains example-nix.org need exactly one host with role "mail", found 0',
  ],
  [
    "domain-missing",
    inline(
      "domain-missing",
      'base // { domain = "example-nix.dev"; domains = builtins.removeAttrs base.domains [ "example-nix.dev" ]; ' +
        "cloudflare = base.cloudflare; }",
    ),
    'domain "example-nix.dev" (where hosts live) is missing from domains',
  ],
  [
    "alias-bad-target",
    inline("alias-bad-target", alias('{ "ops@example-nix.org" = [ "alice at example.com" ]; }')),
    'mail alias "ops@example-nix.org": target "alice at example.com" is not an e-mail address',
  ],
  [
    "alias-not-address",
    inline("alias-not-address", alias('{ "ops" = [ "alice@example.com" ]; }')),
    'mail alias "ops" is not an e-mail address',
  ],
  [
    "alias-not-list",
    inline("alias-not-list", alias('{ "ops@example-nix.org" = "alice@example.com"; }')),
    'mail alias "ops@example-nix.org": targets must be a list of addresses',
  ],
  [
    "bad-bucket",
    inline("bad-bucket", env('{ bucket = "Nix_Cache"; }')),
    'cloudflare environment "production": bucket "Nix_Cache" is not a valid R2 bucket name',
  ],
  [
    "duplicate-bucket",
    inline(
      "duplicate-bucket",
      "base // { cloudflare = base.cloudflare // { environments = base.cloudflare.environments // { " +
        `staging = ${staging} // { denylistNamespace = "d"; auditDatabase = "a"; }; }; }; }`,
    ),
    'duplicate R2 bucket nix-cache: claimed by environment "production" and environment "staging"',
  ],
  [
    "duplicate-namespace",
    inline(
      "duplicate-namespace",
      "base // { cloudflare = base.cloudflare // { environments = base.cloudflare.environments // { " +
        `staging = ${staging} // { bucket = "b-staging"; auditDatabase = "a"; }; }; }; }`,
    ),
    'duplicate KV namespace nix-cache-denylist: claimed by environment "production" and environment "staging"',
  ],
  [
    "duplicate-database",
    inline(
      "duplicate-database",
      "base // { cloudflare = base.cloudflare // { environments = base.cloudflare.environments // { " +
        `staging = ${staging} // { bucket = "b-staging"; denylistNamespace = "d"; }; }; }; }`,
    ),
    'duplicate D1 database nix-cache-audit: claimed by environment "production" and environment "staging"',
  ],
  [
    "no-zone-id",
    inline(
      "no-zone-id",
      "base // { cloudflare = base.cloudflare // { " +
        'zoneIds = { "example-nix.org" = "00000000000000000000000000000010"; }; }; }',
    ),
    'cloudflare.zoneIds: zone "example-nix.dev" needs its Cloudflare zone id ' +
      "(32 hex digits, from the zone's overview page)",
  ],
  [
    "no-state-bucket",
    inline("no-state-bucket", 'base // { cloudflare = builtins.removeAttrs base.cloudflare [ "stateBucket" ]; }'),
    "cloudflare.stateBucket: missing or not a valid R2 bucket name; OpenTofu keeps its state there",
  ],
  [
    "bad-namespace-id",
    inline("bad-namespace-id", env('{ denylistNamespaceId = "nix-cache-denylist"; }')),
    'cloudflare environment "production": denylistNamespaceId must be ' +
      "the KV namespace's id (32 hex digits, `tofu output`)",
  ],
  [
    "bad-database-id",
    inline("bad-database-id", env('{ auditDatabaseId = "12"; }')),
    'cloudflare environment "production": auditDatabaseId must be the D1 database\'s id (a UUID, `tofu output`)',
  ],
  [
    "no-cache-key",
    inline("no-cache-key", "base // { cache = base.cache // { publicKeys = [ ]; }; }"),
    "cache.publicKeys is empty: list the public half of Hydra's signing key",
  ],
  [
    "bad-cache-key",
    inline("bad-cache-key", 'base // { cache = base.cache // { upstreamPublicKeys = [ "cache.nixos.org-1" ]; }; }'),
    'cache: "cache.nixos.org-1" is not a Nix public key (name:base64 of 32 bytes)',
  ],
  [
    "no-admin-key",
    inline("no-admin-key", "base // { admins = { }; }"),
    "admins: no SSH key; admins log in as root with them and every secret is encrypted for them",
  ],
];

describe("inventory validation", () => {
  it("accepts the test inventory and the real one", () => {
    expect(() => evalInfra("machinesFile", fixture("inventory.nix"))).not.toThrow();
    expect(() => evalInfra("records")).not.toThrow();
  });

  it.each(cases)("%s", (_name, file, message) => {
    for (const attr of ["machinesFile", "records"]) {
      const err = evalError(attr, file);
      expect(err).toContain("inventory is invalid:");
      expect(err).toContain(`- ${message}\n`);
    }
  });

  it("reports every problem in one evaluation, each once", () => {
    const err = evalError("machinesFile", invalid("two-problems"));
    const problems = err.split("\n").filter((l) => l.trim().startsWith("- "));
    expect(problems.map((l) => l.trim())).toEqual([
      '- host "arm": no systems (list at least its own platform, e.g. "x86_64-linux")',
      '- builder "big": SSH host key missing (hostKey); Hydra pins it in the machines file. ' +
        "Get it with `ssh-keyscan -t ed25519 big.example-nix.org`",
    ]);
  });

  it("lists a case for every message validate.nix can produce", () => {
    const templates = messageTemplates(readFileSync(path.join(infraDir, "lib", "validate.nix"), "utf8"));
    expect(templates.length).toBeGreaterThan(30); // 39 today; guards against the scanner finding none
    const untested = templates.filter((t) => !cases.some(([, , m]) => t.test(m)));
    expect(untested.map(String)).toEqual([]);
  });
});

/** Each `[ "…" ]` message literal in validate.nix as a regex, its interpolations as wildcards. A message split for
 * line width, `[ ("…" + "…") ]`, is read as one literal; an operand of `+` that is not a literal is a wildcard. */
function messageTemplates(source: string): RegExp[] {
  const out: RegExp[] = [];
  for (const start of source.matchAll(/\[ \(?"/g)) {
    const split = start[0].includes("(");
    let j = start.index + start[0].length;
    let pattern = "";
    while (j < source.length) {
      if (source[j] === '"') {
        const plus = split ? /^"\s*\+\s*/.exec(source.slice(j)) : null;
        if (!plus) break;
        j += plus[0].length;
        if (source[j] === '"') {
          j++;
          continue;
        }
        pattern += ".*";
        break;
      }
      if (source.startsWith("${", j)) {
        let depth = 0;
        j++; // the "$"; the loop below consumes the balanced braces
        do {
          if (source[j] === "{") depth++;
          else if (source[j] === "}") depth--;
          j++;
        } while (depth > 0);
        // `${who}` is 'host "x"' or 'builder "x"'; any other interpolation is some text.
        pattern += ".*";
        continue;
      }
      const ch = source[j] === "\\" ? source[++j]! : source[j]!;
      pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      j++;
    }
    // Skip data lists such as [ "hydra" "builder" "mail" ].
    if ((split || source.slice(j, j + 3) === '" ]') && pattern.length > 12) out.push(new RegExp(`^${pattern}$`));
  }
  return out;
}
