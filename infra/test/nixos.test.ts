// Each host's NixOS configuration evaluated against declared option types (test/nixos/): the modules flake.nix
// gives the host, with the same arguments, through a small module system that rejects unknown options, wrong
// types and conflicting definitions. Then the security-relevant values are asserted: SSH, the builders' forced
// command user, garbage collection, secret file modes and owners, the signing key path.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evalInfra, fixture, infraDir } from "./nix";

type Host = { errors: string[]; externalImports: string[]; config: Record<string, any> };
function evalHosts(inventory: string, extraModule?: string): Record<string, Host> {
  const args = [
    "--eval",
    "--strict",
    "--json",
    path.join(infraDir, "test", "nixos", "eval.nix"),
    "--argstr",
    "inventoryFile",
    inventory,
  ];
  if (extraModule) args.push("--argstr", "extraModule", fixture("modules", extraModule));
  const r = spawnSync("nix-instantiate", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, Host>;
}

const realInventory = path.join(infraDir, "inventory.nix");
const hosts = evalHosts(realInventory);
const inventory = evalInfra<{ hosts: Record<string, { role: string; stateVersion: string; queueRunnerKey?: string }> }>(
  "inventory",
);
const infraHosts = evalInfra<Record<string, { role: string; gc: { minFreeGiB: number; maxFreeGiB: number } }>>("hosts");
const ofRole = (role: string) => Object.keys(hosts).filter((h) => infraHosts[h]!.role === role);
const GiB = 1024 ** 3;

describe("the option checker", () => {
  it("evaluates every host of the real and the test inventory without an error", () => {
    for (const [name, h] of Object.entries(hosts)) expect([name, h.errors]).toEqual([name, []]);
    for (const [name, h] of Object.entries(evalHosts(fixture("inventory.nix"))))
      expect([name, h.errors]).toEqual([name, []]);
  });

  it.each([
    ["unknown-option.nix", "unknown option `services.openssh.settings.PermitRootLogn'"],
    ["wrong-type.nix", 'option `services.openssh.settings.PasswordAuthentication\': "no" is not a boolean'],
    [
      "conflict.nix",
      'option `services.openssh.settings.PermitRootLogin\' has conflicting definitions: ["prohibit-password","yes"]',
    ],
  ])("rejects %s", (module, message) => {
    for (const h of Object.values(evalHosts(fixture("inventory.nix"), module))) expect(h.errors).toEqual([message]);
  });

  it("merges like NixOS: mkIf false vanishes, mkForce wins, lists concatenate", () => {
    const mx = evalHosts(fixture("inventory.nix"), "mkif.nix").mx!;
    expect(mx.errors).toEqual([]);
    expect(mx.config.services.openssh.settings.PermitRootLogin).toBe("no");
    expect(mx.config.networking.firewall.allowedTCPPorts).toEqual([80, 443, 8080]);
  });
});

describe("every host", () => {
  it.each(Object.keys(hosts))("%s: SSH with keys only, root only with the admins' keys", (name) => {
    const c = hosts[name]!.config;
    expect(c.services.openssh.enable).toBe(true);
    expect(c.services.openssh.settings).toEqual({
      PasswordAuthentication: false,
      KbdInteractiveAuthentication: false,
      PermitRootLogin: "prohibit-password",
      X11Forwarding: false,
    });
    expect(c.users.mutableUsers).toBe(false);
    expect(c.users.users.root.openssh.authorizedKeys.keys).toEqual(evalInfra<string[]>("adminKeys"));
    expect(c.networking.firewall.enable).toBe(true);
    expect(c.services.prometheus.exporters.node.openFirewall).toBe(false);
    expect(c.nix.settings["trusted-users"]).toEqual(
      infraHosts[name]!.role === "builder" ? ["root", "nix-ssh"] : ["root"],
    );
  });

  it.each(Object.keys(hosts))("%s: collects garbage (min-free/max-free and a daily sweep)", (name) => {
    const c = hosts[name]!.config;
    const gc = infraHosts[name]!.gc;
    expect(c.nix.settings["min-free"]).toBe(gc.minFreeGiB * GiB);
    expect(c.nix.settings["max-free"]).toBe(gc.maxFreeGiB * GiB);
    expect(c.nix.settings["min-free"]).toBeLessThan(c.nix.settings["max-free"]);
    expect(c.nix.gc.automatic).toBe(true);
    expect(c.nix.gc.options).toMatch(/^--delete-older-than \d+d$/);
  });

  it.each(Object.keys(hosts))("%s: keeps the inventory's stateVersion and trusts our cache key", (name) => {
    const c = hosts[name]!.config;
    expect(c.system.stateVersion).toBe(inventory.hosts[name]!.stateVersion);
    expect(c.nix.settings["extra-trusted-public-keys"]).toEqual(
      evalInfra<{ cache: { publicKeys: string[] } }>("inventory").cache.publicKeys,
    );
  });

  it.each(Object.keys(hosts))("%s: secrets come from agenix, encrypted files only, never world-readable", (name) => {
    const secrets = hosts[name]!.config.age.secrets as Record<string, { file: string; mode: string; path: string }>;
    for (const [n, s] of Object.entries(secrets)) {
      expect(s.file).toBe(`<path:${n}.age>`);
      expect(s.mode).toBe("0400");
    }
  });
});

describe("builders", () => {
  it.each(ofRole("builder"))(
    "%s: Hydra's key reaches only nix-ssh, whose only command is nix-store --serve --write",
    (name) => {
      const c = hosts[name]!.config;
      const hydraKey = inventory.hosts.hydra!.queueRunnerKey!;
      // nix.sshServe makes sshd force `nix-store --serve --write` for nix-ssh (protocol "ssh", write = true).
      expect(c.nix.sshServe).toEqual({ enable: true, write: true, protocol: "ssh", keys: [hydraKey] });
      expect(c.users.users.root.openssh.authorizedKeys.keys).not.toContain(hydraKey);
      expect(c.nix.settings.sandbox).toBe(true);
    },
  );
});

describe("hydra", () => {
  const c = hosts.hydra!.config;
  const hydra = evalInfra<{ storeUri: string; narCache: string }>("hydra");

  it("signs with the key agenix decrypts, as the queue runner only", () => {
    const key = c.age.secrets["cache-signing-key"];
    expect(key).toMatchObject({ owner: "hydra-queue-runner", group: "hydra", mode: "0400" });
    expect(hydra.storeUri).toContain(`&secret-key=${key.path}&`);
    expect(c.services.hydra.extraConfig).toContain(`store_uri = ${hydra.storeUri}\n`);
  });

  it("reads the R2 credentials from a root-only secret, and the builders' SSH key from the queue runner's", () => {
    const creds = c.age.secrets["r2-credentials"];
    expect(creds).toMatchObject({ owner: "root", group: "root", mode: "0400" });
    expect(c.systemd.services["hydra-queue-runner"].serviceConfig.EnvironmentFile).toBe(creds.path);
    const ssh = c.age.secrets["queue-runner-ssh-key"];
    expect(ssh).toMatchObject({ owner: "hydra-queue-runner", mode: "0400" });
    expect(c.services.hydra.buildMachinesFiles[0].text.split("\n")[0].split(" ")[2]).toBe(ssh.path);
  });

  it("builds with the inventory's builders, without substitutes, and keeps disk free before the queue stops", () => {
    expect(c.services.hydra.useSubstitutes).toBe(false);
    expect(c.services.hydra.buildMachinesFiles[0].text).toBe(evalInfra<string>("machinesFile"));
    expect(c.nix.settings["min-free"]).toBeGreaterThan(c.services.hydra.minimumDiskFree * GiB);
  });

  it("creates the NAR cache hydra-server (hydra-www, group hydra) writes; uploads logs uncompressed by Hydra", () => {
    expect(c.systemd.tmpfiles.rules).toContain(`d ${hydra.narCache} 0775 hydra hydra 1d -`);
    expect(c.services.hydra.extraConfig).toMatch(/^compress_build_logs = false$/m);
    expect(c.services.hydra.extraConfig).toMatch(/^upload_logs_to_binary_cache = true$/m);
  });

  it("listens on localhost behind nginx with TLS", () => {
    expect(c.services.hydra.listenHost).toBe("localhost");
    expect(c.services.nginx.virtualHosts["hydra.example-nix.org"]).toMatchObject({ enableACME: true, forceSSL: true });
  });
});

describe("mail", () => {
  const c = hosts.mail!.config;
  const domains = evalInfra<string[]>("mailDomains");

  it("uses the 26.05 mailserver options: stateVersion, x509, dkim, SRS, no logins", () => {
    expect(c.mailserver).toMatchObject({
      enable: true,
      stateVersion: 3,
      fqdn: "mail.example-nix.org",
      domains,
      accounts: {},
      x509: { useACMEHost: "mail.example-nix.org" },
      srs: { enable: true },
      enableImap: false,
      enableImapSsl: false,
      enablePop3: false,
      enablePop3Ssl: false,
      enableSubmission: false,
      enableSubmissionSsl: false,
      enableManageSieve: false,
    });
    expect(c.services.nginx.virtualHosts["mail.example-nix.org"]).toMatchObject({ enableACME: true });
  });

  it("signs each domain with the DKIM key kept in the repository, where the mailserver reads it, rspamd only", () => {
    expect(Object.keys(c.mailserver.dkim.domains).sort()).toEqual([...domains].sort());
    for (const d of domains) {
      expect(c.mailserver.dkim.domains[d].selectors).toEqual({ mail: { keyType: "rsa", keyLength: 2048 } });
      expect(c.age.secrets[`dkim-${d}-mail`]).toMatchObject({
        path: `${c.mailserver.dkim.keyDirectory}/${d}.mail.key`,
        owner: "rspamd",
        group: "rspamd",
        mode: "0400",
      });
    }
  });

  it("forwards every alias to its resolved external addresses", () => {
    expect(c.mailserver.forwards).toEqual(evalInfra("mailForwards"));
  });
});
