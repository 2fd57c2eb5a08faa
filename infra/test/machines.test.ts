// Inventory -> Hydra's machines file (lib/machines.nix), checked against a golden file whose
// host-key column was encoded by coreutils `base64`, not by our Nix encoder.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evalInfra, fixture } from "./nix";

const golden = (name: string) => readFileSync(fixture("golden", name), "utf8");

describe("machines file", () => {
  it("matches the golden file for the test inventory", () => {
    expect(evalInfra<string>("machinesFile", fixture("inventory.nix"))).toBe(golden("machines.txt"));
  });

  it("has the eight columns Nix and Hydra parse, with '-' for empty fields", () => {
    const lines = evalInfra<string>("machinesFile", fixture("inventory.nix")).trimEnd().split("\n");
    for (const line of lines) expect(line.split(" ")).toHaveLength(8);
    const arm = lines.find((l) => l.startsWith("ssh://nix-ssh@arm."))!.split(" ");
    expect(arm.slice(5, 7)).toEqual(["-", "-"]);
  });

  it("lists only builders: not the Hydra or mail host", () => {
    const text = evalInfra<string>("machinesFile", fixture("inventory.nix"));
    expect(text).not.toMatch(/hydra\.example-nix\.org|mx\.example-nix\.org/);
  });

  it("encodes the host key as the base64 of the key line", () => {
    const inventoryKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPA1V/3GdJXiVfl1hVMDXAI3YCR1E9oQzTfoQPdpQnuK";
    const big = evalInfra<string>("machinesFile", fixture("inventory.nix"))
      .split("\n")
      .find((l) => l.includes("@big."))!;
    expect(Buffer.from(big.split(" ")[7]!, "base64").toString("utf8")).toBe(inventoryKey);
  });

  it("gains a line when a builder is added to the inventory", () => {
    const before = evalInfra<string>("machinesFile", fixture("inventory.nix"));
    const after = evalInfra<string>("machinesFile", fixture("inventory-extra-builder.nix"));
    const key = Buffer.from(
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID7/4qH6bX/nUxJ/Gbc7zN1HmjcKk0RL7s1QbeW8ep5X",
    ).toString("base64");
    expect(after).toBe(
      before +
        `ssh://nix-ssh@new.example-nix.org x86_64-linux /var/lib/hydra/queue-runner/.ssh/id_ed25519 6 2 kvm - ${key}\n`,
    );
  });

  it("is what Hydra gets in hydra.conf's neighbour: the store_uri uploads signed zstd outputs to the bucket", () => {
    const hydra = evalInfra<{ storeUri: string; config: string }>("hydra", fixture("inventory.nix"));
    expect(hydra.storeUri).toBe(
      "s3://nix-cache?endpoint=0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com&region=auto" +
        "&secret-key=/run/agenix/cache-signing-key&write-nar-listing=1" +
        "&compression=zstd&ls-compression=zstd&log-compression=zstd",
    );
    expect(hydra.config).toContain(`store_uri = ${hydra.storeUri}\n`);
    expect(hydra.config).toContain("binary_cache_public_uri = https://cache.example-nix.org\n");
    // Logs go to the bucket already zstd-compressed; Hydra's own log compression conflicts with that.
    expect(hydra.config).toMatch(/^upload_logs_to_binary_cache = true$/m);
    expect(hydra.config).toMatch(/^compress_build_logs = false$/m);
    expect(hydra.config).toContain(
      "server_store_uri = https://cache.example-nix.org?local-nar-cache=/var/cache/hydra/nar-cache\n",
    );
    // Secrets are paths on the host, never values: nothing key-like may appear.
    expect(hydra.config).not.toMatch(/AWS_|[A-Za-z0-9+/]{40,}={0,2}/);
  });
});
