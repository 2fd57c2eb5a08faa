/**
 * Which narinfos the worker serves, beyond signed ones: unsigned content-addressed paths (made by Nix 2.8,
 * test/fixtures/make-ca-fixtures.sh) and the parse rules of docs/protocol.md, through the worker with R2 as origin.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { NIX_CONTENT_ADDRESSED } from "../unit/nixVectors";
import { bucket, call, emptyBucket, fixturePath, fixtureText, testEnv } from "./harness";

beforeEach(() => emptyBucket(bucket()));

describe("unsigned content-addressed narinfos", () => {
  for (const [file, v] of Object.entries(NIX_CONTENT_ADDRESSED)) {
    it(`served when the CA computes to the StorePath: ${v.form}`, async () => {
      await bucket().put(file, v.text);
      const res = await call(testEnv(), `/${file}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(v.text);
    });
  }

  it("refused (404) when the CA names other content", async () => {
    const [file, v] = Object.entries(NIX_CONTENT_ADDRESSED).find(([, x]) => x.form === "fixed:sha256")!;
    const forged = v.text.replace(
      /^CA: fixed:sha256:(.)/m,
      (_, c: string) => `CA: fixed:sha256:${c === "0" ? "1" : "0"}`,
    );
    expect(forged).not.toBe(v.text);
    await bucket().put(file, forged);
    expect((await call(testEnv(), `/${file}`)).status).toBe(404);
  });

  it("refused when a reference was added, which the CA does not cover", async () => {
    const [file, v] = Object.entries(NIX_CONTENT_ADDRESSED).find(([, x]) => x.form === "text:sha256")!;
    const dep = fixturePath("feas-dep").storePath.replace("/nix/store/", "");
    await bucket().put(file, v.text.replace("References: \n", `References: ${dep}\n`));
    expect((await call(testEnv(), `/${file}`)).status).toBe(404);
  });
});

describe('parse rules (docs/protocol.md, "Parse rules")', () => {
  const app = () => fixturePath("feas-app");

  it("serves what every Nix reads, written the way Nix writes it", async () => {
    const original = fixtureText(app().xz.narinfoPath);
    const ref = original.match(/^References: (.*)$/m)![1]!;
    const sloppy = original
      .replace(/^References: .*$/m, `References:  ${ref}  ${ref} `)
      .replace(/^NarSize: (\d+)$/m, "NarSize: 1\nNarSize: 00$1")
      .replace(/^Sig: (.*)$/m, "Sig: $1\nSig: garbage\nSig: k:AAAA")
      .replace(/^URL: /m, "X Unknown: ignored\nURL: ");
    await bucket().put(app().xz.narinfoPath.slice(3), sloppy);
    const res = await call(testEnv(), `/${app().hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(original);
  });

  it("refuses an unknown Compression (Nix ≥ 2.35 rejects the narinfo as an error)", async () => {
    const text = fixtureText(app().xz.narinfoPath).replace("Compression: xz", "Compression: xz2");
    await bucket().put(`${app().hashPart}.narinfo`, text);
    expect((await call(testEnv(), `/${app().hashPart}.narinfo`)).status).toBe(404);
  });
});
