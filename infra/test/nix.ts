// Runs Debian's nix-instantiate on the real infra/ files; shared by the infra tests.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Evaluation only, never a build: no build users are needed. Without this, Nix warns on stderr wherever the
// `nixbld` group is missing, and the tests that require a silent evaluation would fail for that reason alone.
// Set for every child process (nix-instantiate here and in deploy.sh / tf.sh).
process.env.NIX_CONFIG = "build-users-group =";

export const infraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const fixture = (...p: string[]) => path.join(infraDir, "test", "fixtures", ...p);

function instantiate(attr: string, inventoryFile?: string) {
  const args = ["--eval", "--strict", "--json", path.join(infraDir, "eval.nix"), "-A", attr];
  if (inventoryFile) args.push("--argstr", "inventoryFile", inventoryFile);
  return spawnSync("nix-instantiate", args, { encoding: "utf8" });
}

/** `infra/eval.nix -A attr` as JSON; throws with Nix's message if evaluation fails. */
export function evalInfra<T = unknown>(attr: string, inventoryFile?: string): T {
  const r = instantiate(attr, inventoryFile);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** The error text of an evaluation that must fail (fails the test if it succeeds). */
export function evalError(attr: string, inventoryFile: string): string {
  const r = instantiate(attr, inventoryFile);
  if (r.status === 0) throw new Error(`expected ${path.basename(inventoryFile)} to be rejected, got ${r.stdout}`);
  return r.stderr;
}

export type DnsRecord = {
  zone: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied: boolean;
  priority: number | null;
  comment: string;
  data: { flags: number; tag: string; value: string } | null;
};
