// infra/deploy.sh --dry-run: the nixos-rebuild commands it would run, in order.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fixture, infraDir } from "./nix";

const script = path.join(infraDir, "deploy.sh");
function deploy(args: string[], inventory = fixture("inventory.nix")) {
  const r = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: { ...process.env, INVENTORY_FILE: inventory },
  });
  return { ...r, stdout: r.stdout.replaceAll(infraDir, "<infra>") };
}

describe("deploy.sh --dry-run", () => {
  it("prints one nixos-rebuild per host: builders first, Hydra last, built on the target", () => {
    const r = deploy(["--dry-run", "--all"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toEqual([
      "nixos-rebuild switch --flake <infra>#arm --target-host root@arm.example-nix.org " +
        "--build-host root@arm.example-nix.org --use-substitutes",
      "nixos-rebuild switch --flake <infra>#big --target-host root@big.example-nix.org " +
        "--build-host root@big.example-nix.org --use-substitutes",
      "nixos-rebuild switch --flake <infra>#mx --target-host root@mx.example-nix.org " +
        "--build-host root@mx.example-nix.org --use-substitutes",
      "nixos-rebuild switch --flake <infra>#hydra --target-host root@hydra.example-nix.org " +
        "--build-host root@hydra.example-nix.org --use-substitutes",
    ]);
  });

  it("selects by role or name, and passes --action and --build-local through", () => {
    expect(
      deploy(["--dry-run", "--role", "builder"])
        .stdout.trimEnd()
        .split("\n")
        .map((l) => l.split(" ")[3]),
    ).toEqual(["<infra>#arm", "<infra>#big"]);
    expect(deploy(["--dry-run", "--action", "boot", "--build-local", "hydra"]).stdout.trimEnd()).toBe(
      "nixos-rebuild boot --flake <infra>#hydra --target-host root@hydra.example-nix.org --use-substitutes",
    );
  });

  it("includes a builder added to the inventory", () => {
    expect(deploy(["--dry-run", "--role", "builder"], fixture("inventory-extra-builder.nix")).stdout).toContain(
      "<infra>#new ",
    );
  });

  it("rejects an unknown host, an unknown action, and an invalid inventory", () => {
    const unknown = deploy(["--dry-run", "nope"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no host "nope" in the inventory');
    expect(deploy(["--dry-run", "--action", "reboot", "--all"]).status).toBe(2);
    const invalid = deploy(["--dry-run", "--all"], fixture("invalid", "builder-no-key.nix"));
    expect(invalid.status).not.toBe(0);
    expect(invalid.stderr).toContain('builder "big": SSH host key missing');
    expect(invalid.stdout).toBe("");
  });
});
