import { describe, expect, it } from "vitest";
import { contentAddressedPath, isContentAddressed, parseContentAddress } from "../../src/narinfo/contentAddress";
import { FormatError } from "../../src/narinfo/errors";
import { type Narinfo, parseNarinfo } from "../../src/narinfo/narinfo";
import { parseStorePathBaseName } from "../../src/narinfo/storePath";
import { NIX_CONTENT_ADDRESSED, PROTOCOL_NARINFO } from "./nixVectors";

const vectors = Object.entries(NIX_CONTENT_ADDRESSED);
const byForm = (form: string): Narinfo => {
  const v = vectors.find(([, x]) => x.form === form);
  if (!v) throw new Error(`no vector ${form}`);
  return parseNarinfo(v[1].text);
};
const otherRef = parseStorePathBaseName("d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep");

describe("store paths computed from CA match Nix 2.8's", () => {
  it("has a vector for every form", () => {
    expect(vectors.map(([, v]) => v.form).sort()).toEqual([
      "fixed:r:sha1",
      "fixed:r:sha256",
      "fixed:sha256",
      "fixed:sha256 (derivation output)",
      "text:sha256",
      "text:sha256 with a reference",
    ]);
  });

  for (const [file, v] of vectors) {
    it(`${v.form} (${v.how}): ${file}`, async () => {
      const n = parseNarinfo(v.text);
      expect(n.sigs).toEqual([]);
      const ca = parseContentAddress(n.ca!);
      expect(await contentAddressedPath(ca, n.storePath.name, n.references, n.storePath)).toBe(v.storePath);
      expect(await isContentAddressed(n)).toBe(true);
    });
  }
});

describe("a CA that does not compute to the StorePath is not content-addressed", () => {
  const cases: [string, string, (n: Narinfo) => Narinfo][] = [
    ["another digest", "fixed:r:sha256", (n) => ({ ...n, ca: n.ca!.replace(/.$/, (c) => (c === "0" ? "1" : "0")) })],
    ["flat instead of recursive", "fixed:r:sha256", (n) => ({ ...n, ca: n.ca!.replace("fixed:r:", "fixed:") })],
    ["recursive instead of flat", "fixed:sha256", (n) => ({ ...n, ca: n.ca!.replace("fixed:", "fixed:r:") })],
    ["text instead of fixed", "fixed:sha256", (n) => ({ ...n, ca: n.ca!.replace("fixed:", "text:") })],
    ["another name", "fixed:sha256", (n) => ({ ...n, storePath: { ...n.storePath, name: "renamed" } })],
    ["another path hash", "text:sha256", (n) => ({ ...n, storePath: { ...n.storePath, hash: otherRef.hash } })],
    ["an added reference (text)", "text:sha256", (n) => ({ ...n, references: [otherRef] })],
    ["a dropped reference (text)", "text:sha256 with a reference", (n) => ({ ...n, references: [] })],
    ["a swapped reference (text)", "text:sha256 with a reference", (n) => ({ ...n, references: [otherRef] })],
    ["a self-reference (text, never valid)", "text:sha256", (n) => ({ ...n, references: [n.storePath] })],
    ["an added reference (source)", "fixed:r:sha256", (n) => ({ ...n, references: [otherRef] })],
    ["an added self-reference (source)", "fixed:r:sha256", (n) => ({ ...n, references: [n.storePath] })],
    ["any reference on a flat fixed output", "fixed:sha256", (n) => ({ ...n, references: [otherRef] })],
    ["any reference on fixed:r:sha1", "fixed:r:sha1", (n) => ({ ...n, references: [n.storePath] })],
    ["no CA", "fixed:sha256", (n) => ({ ...n, ca: undefined })],
    ["an empty CA", "fixed:sha256", (n) => ({ ...n, ca: "" })],
    ["an unparseable CA", "fixed:sha256", (n) => ({ ...n, ca: "fixed:git:sha1:" + "0".repeat(40) })],
  ];
  for (const [name, form, change] of cases) {
    it(name, async () => {
      const n = byForm(form);
      expect(await isContentAddressed(n)).toBe(true);
      expect(await isContentAddressed(change(n))).toBe(false);
    });
  }

  it("in another store directory", async () => {
    const n = byForm("fixed:r:sha256");
    expect(await isContentAddressed(n, "/opt/store")).toBe(false);
  });

  it("a signed, input-addressed narinfo", async () => {
    expect(await isContentAddressed(parseNarinfo(PROTOCOL_NARINFO))).toBe(false);
  });
});

describe("parseContentAddress", () => {
  it("reads text:, fixed: and fixed:r: with any digest encoding Nix reads by length", () => {
    const n = byForm("fixed:r:sha256");
    const ca = parseContentAddress(n.ca!);
    expect(ca.method).toBe("nar");
    const hex = [...ca.hash.bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    const b64 = btoa(String.fromCharCode(...ca.hash.bytes));
    for (const digest of [hex, b64]) expect(parseContentAddress(`fixed:r:sha256:${digest}`)).toEqual(ca);
    expect(parseContentAddress(`fixed:sha256:${hex}`).method).toBe("flat");
    expect(parseContentAddress(`text:sha256:${hex}`).method).toBe("text");
  });

  it("refuses other forms", () => {
    const hex = "0".repeat(64);
    for (const s of [
      `sha256:${hex}`,
      `text:r:sha256:${hex}`,
      `fixed:git:sha1:${"0".repeat(40)}`,
      `fixed:r:sha256-${btoa("x".repeat(32))}`,
      `fixed:sha256:${hex.slice(1)}`,
      `fixed:blake3:${hex}`,
      "fixed:",
      "",
    ]) {
      expect(() => parseContentAddress(s), s).toThrow(FormatError);
    }
  });
});
