// Secrets (secrets.nix, lib/secrets.nix): every declared secret is an age-encrypted file in infra/secrets/,
// encrypted for exactly the hosts and admins the mapping names; nothing in the repository is a plaintext secret;
// DKIM keys are kept for the mail host where the mailserver reads them.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evalInfra, fixture, infraDir } from "./nix";

type Secret = {
  name: string;
  hosts: string[];
  owner: string;
  group: string;
  mode: string;
  path: string;
  file: string;
  recipients: string[];
};
const secretsDir = path.join(infraDir, "secrets");

/** The recipient stanzas of an age file (armored or binary): one tag per ssh-ed25519 recipient. */
function ageRecipientTags(file: string): string[] {
  let text = readFileSync(file, "latin1");
  const armor = /-----BEGIN AGE ENCRYPTED FILE-----([\s\S]*?)-----END AGE ENCRYPTED FILE-----/.exec(text);
  if (armor) text = Buffer.from(armor[1]!.replace(/\s+/g, ""), "base64").toString("latin1");
  const lines = text.split("\n");
  if (lines[0] !== "age-encryption.org/v1") throw new Error(`${file}: not an age file`);
  const stanzas = lines
    .slice(
      1,
      lines.findIndex((l) => l.startsWith("--- ")),
    )
    .filter((l) => l.startsWith("-> "));
  return stanzas.map((l) => {
    const [, type, tag] = l.split(" ");
    if (type !== "ssh-ed25519") throw new Error(`${file}: recipient type ${type}`);
    return tag!;
  });
}
/** age's ssh-ed25519 stanza tag: the first 4 bytes of SHA-256 over the key's SSH wire encoding, base64 unpadded. */
const sshTag = (key: string) =>
  createHash("sha256")
    .update(Buffer.from(key.split(" ")[1]!, "base64"))
    .digest()
    .subarray(0, 4)
    .toString("base64")
    .replace(/=+$/, "");

const secrets = evalInfra<Record<string, Secret>>("secrets");

describe("secrets in the repository", () => {
  it("one encrypted file per declared secret, and no other", () => {
    const files = readdirSync(secretsDir)
      .filter((f) => f.endsWith(".age"))
      .sort();
    expect(files).toEqual(
      Object.values(secrets)
        .map((s) => s.file)
        .sort(),
    );
  });

  it.each(Object.keys(secrets))("%s is encrypted for exactly its hosts and the admins", (name) => {
    const s = secrets[name]!;
    const hostKeys = evalInfra<Record<string, { hostKey: string }>>("hosts");
    const admins = evalInfra<string[]>("adminKeys");
    const expected = [...s.hosts.map((h) => hostKeys[h]!.hostKey), ...admins].map(sshTag).sort();
    expect(ageRecipientTags(path.join(secretsDir, s.file)).sort()).toEqual(expected);
  });

  it("secrets/secrets.nix gives the agenix CLI the same recipients", () => {
    const rules = evalInfra<Record<string, { publicKeys: string[] }>>("agenixRules");
    for (const s of Object.values(secrets)) expect(rules[s.file]!.publicKeys).toEqual(s.recipients);
  });

  it("holds no plaintext secret anywhere under infra/", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? (e.name === ".work" ? [] : files(path.join(dir, e.name))) : [path.join(dir, e.name)],
      );
    const leaks = files(infraDir)
      .filter((f) => !f.endsWith(".age"))
      .filter((f) => {
        const text = readFileSync(f, "utf8");
        // PEM private keys, OpenSSH private keys, Nix secret keys (name:base64 of 64 bytes), credential values.
        return (
          /-----BEGIN [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9.-]+:[A-Za-z0-9+/]{86}==|AWS_SECRET_ACCESS_KEY=\w/.test(text) &&
          !f.endsWith("secrets.test.ts")
        );
      });
    expect(leaks).toEqual([]);
  });
});

describe("secret -> host mapping", () => {
  it("gives Hydra its signing key, R2 credentials and queue-runner key, readable by their users only", () => {
    const hydra = evalInfra<Record<string, Record<string, Secret>>>("secretsFor", fixture("inventory.nix")).hydra!;
    expect(Object.keys(hydra).sort()).toEqual(["cache-signing-key", "queue-runner-ssh-key", "r2-credentials"]);
    expect(hydra["cache-signing-key"]).toMatchObject({
      owner: "hydra-queue-runner",
      group: "hydra",
      mode: "0400",
      path: "/run/agenix/cache-signing-key",
    });
    expect(hydra["r2-credentials"]).toMatchObject({ owner: "root", group: "root", mode: "0400" });
    expect(hydra["queue-runner-ssh-key"]).toMatchObject({
      owner: "hydra-queue-runner",
      mode: "0400",
      path: "/var/lib/hydra/queue-runner/.ssh/id_ed25519",
    });
  });

  it("gives the mail host one DKIM key per mail domain, where the mailserver reads it, for rspamd only", () => {
    const all = evalInfra<Record<string, Record<string, Secret>>>(
      "secretsFor",
      fixture("inventory-second-mail-domain.nix"),
    );
    expect(
      Object.values(all.mx!)
        .map((s) => `${s.name} ${s.path} ${s.owner}:${s.group} ${s.mode}`)
        .sort(),
    ).toEqual([
      "dkim-example-nix.net-mail /var/dkim/example-nix.net.mail.key rspamd:rspamd 0400",
      "dkim-example-nix.org-mail /var/dkim/example-nix.org.mail.key rspamd:rspamd 0400",
    ]);
    expect(Object.keys(all.big!)).toEqual([]); // builders hold no secret
  });

  it("keeps the operators' API token off every host", () => {
    expect(secrets["cloudflare-api-token"]!.hosts).toEqual([]);
  });

  it("never lets group or others write, nor others read, any secret", () => {
    for (const s of Object.values(secrets)) expect(s.mode).toMatch(/^0[0-7][0-5]0$/);
  });
});
