// flake.nix's outputs, evaluated with stand-in inputs (test/fixtures/flake-wiring.nix):
// nixpkgs cannot be fetched here, but which modules each host receives can be checked.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { evalInfra, fixture } from "./nix";

type Wiring = {
  inputs: string[];
  urls: Record<string, string>;
  follows: Record<string, string | null>;
  hosts: Record<string, { modules: string[]; host: string; machinesFile: string }>;
  checks: Record<string, string[]>;
};

const r = spawnSync("nix-instantiate", ["--eval", "--strict", "--json", fixture("flake-wiring.nix")], {
  encoding: "utf8",
});

describe("flake outputs", () => {
  it("evaluate with stand-in inputs", () => {
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
  const wiring = (r.status === 0 ? JSON.parse(r.stdout) : {}) as Wiring;

  it("follow the current stable release (26.05) for nixpkgs and the mailserver, and one nixpkgs for all", () => {
    expect(wiring.inputs).toEqual(["agenix", "nixpkgs", "simple-nixos-mailserver"]);
    expect(wiring.urls).toEqual({
      nixpkgs: "github:NixOS/nixpkgs/nixos-26.05",
      "simple-nixos-mailserver": "gitlab:simple-nixos-mailserver/nixos-mailserver/nixos-26.05",
      agenix: "github:ryantm/agenix",
    });
    expect(wiring.follows).toEqual({ nixpkgs: null, "simple-nixos-mailserver": "nixpkgs", agenix: "nixpkgs" });
  });

  it("define one nixosConfiguration per inventory host, with its role's modules", () => {
    expect(Object.keys(wiring.hosts).sort()).toEqual(["builder-arm-01", "builder-x86-01", "hydra", "mail"]);
    expect(wiring.hosts.hydra!.modules).toEqual([
      "agenix",
      "common.nix",
      "hetzner-cloud.nix",
      "hostPlatform=x86_64-linux",
      "hydra.nix",
    ]);
    expect(wiring.hosts["builder-arm-01"]!.modules).toEqual([
      "agenix",
      "common.nix",
      "hetzner-cloud.nix",
      "hostPlatform=aarch64-linux",
      "builder.nix",
    ]);
    expect(wiring.hosts.mail!.modules).toEqual([
      "agenix",
      "common.nix",
      "hetzner-cloud.nix",
      "hostPlatform=x86_64-linux",
      "simple-nixos-mailserver",
      "mail.nix",
    ]);
    for (const [name, h] of Object.entries(wiring.hosts)) expect(h.host).toBe(name);
  });

  it("give Hydra the machines file derived from the inventory", () => {
    expect(wiring.hosts.hydra!.machinesFile).toBe(evalInfra<string>("machinesFile"));
    expect(wiring.hosts.hydra!.machinesFile).toContain("ssh://nix-ssh@builder-arm-01.example-nix.org aarch64-linux ");
  });

  it("check each host on its own platform", () => {
    expect(wiring.checks).toEqual({
      "aarch64-linux": ["builder-arm-01"],
      "x86_64-linux": ["builder-x86-01", "hydra", "mail"],
    });
  });
});
