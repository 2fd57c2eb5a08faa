/**
 * The parse rules table of docs/protocol.md ("Parse rules"), one vector per row: what the worker makes of a narinfo
 * that some Nix versions read differently. "served" is the exact text the worker would serve; "refused" means the
 * origin's answer counts as absent. Inputs are edits of a real Nix 2.8 narinfo (nixVectors.ts).
 */
import { describe, expect, it } from "vitest";
import { base16Encode, base64Encode } from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";
import { formatNarinfo, parseNarinfo } from "../../src/narinfo/narinfo";
import { PROTOCOL_NARINFO as P } from "./nixVectors";

const REF = "d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep";
const SELF = "8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app";
const SIG = P.match(/^Sig: (.*)$/m)![1]!;
const NARHASH = parseNarinfo(P).narHash.bytes;

/** Replaces the whole `Key: …` line (first occurrence). */
const set = (key: string, value: string, text = P) => text.replace(new RegExp(`^${key}: .*$`, "m"), `${key}: ${value}`);
const add = (line: string, text = P) => text + line + "\n";

type Row = [id: string, input: string, outcome: string | "refused"];

const ROWS: Row[] = [
  // Leniency every Nix shares: accepted, served as Nix writes it.
  ["references-extra-spaces", set("References", `  ${REF}   ${SELF} `), set("References", `${REF} ${SELF}`)],
  ["references-repeated", set("References", `${REF} ${REF}`), P],
  ["references-empty-twice", add("References: ", set("References", "")), set("References", "")],
  ["duplicate-key-last-wins", add("NarSize: 552", set("NarSize", "1")), P],
  ["duplicate-url-empty-first", set("URL", "", P).replace(/^URL: $/m, "URL: \nURL: " + parseNarinfo(P).url), P],
  ["size-leading-zeros", set("NarSize", "000552"), P],
  ["size-plus-sign", set("FileSize", "+244"), P],
  ["sri-hash-unpadded", set("NarHash", `sha256-${base64Encode(NARHASH).replace(/=+$/, "")}`), P],
  ["hash-upper-case-hex", set("NarHash", `sha256:${base16Encode(NARHASH).toUpperCase()}`), P],
  ["sig-unpadded", set("Sig", SIG.replace(/=+$/, "")), P],
  ["sig-repeated", add(`Sig: ${SIG}`), P],
  ["unknown-key", add("Provenance: {}"), add("Provenance: {}")],
  ["unknown-key-unwritable", add("Bad Key: x\tyz"), P],
  ["compression-empty", set("Compression", ""), set("Compression", "")],
  ["ca-empty", add("CA: "), add("CA: ")],
  ["no-final-newline", P.slice(0, -1), P],
  // What a current Nix rejects as an error: dropped where that changes no signed field, else refused.
  ["sig-malformed", add("Sig: no-colon-here"), P],
  ["sig-empty-name", add(`Sig: :${SIG.split(":")[1]}`), P],
  ["sig-bad-base64", add("Sig: k-1:not*base64"), P],
  ["sig-wrong-length", add("Sig: k-1:AAAA"), P],
  ["compression-unknown", set("Compression", "xz2"), "refused"],
  // Errors in every Nix: refused.
  ["references-twice", add(`References: ${REF}`), "refused"],
  ["ca-twice", add("CA: text:sha256:" + "0".repeat(52), add("CA: text:sha256:" + "1".repeat(52))), "refused"],
  ["ca-malformed", add("CA: sha256:" + "0".repeat(52)), "refused"],
  ["ca-git", add("CA: fixed:git:sha1:" + "0".repeat(40)), "refused"],
  ["size-space", set("NarSize", " 552"), "refused"],
  ["size-negative", set("NarSize", "-552"), "refused"],
  ["narsize-zero", set("NarSize", "0"), "refused"],
  ["url-empty", set("URL", ""), "refused"],
  ["deriver-invalid", set("Deriver", "feas-app.drv"), "refused"],
  ["storepath-not-canonical", set("StorePath", `/nix/store//${SELF}`), "refused"],
  ["known-key-without-space", P.replace("URL: ", "URL:"), "refused"],
  ["crlf", P.replaceAll("\n", "\r\n"), "refused"],
  ["empty-line", add(""), "refused"],
];

function outcome(input: string): string {
  try {
    return formatNarinfo(parseNarinfo(input));
  } catch (e) {
    if (e instanceof FormatError) return "refused";
    throw e;
  }
}

describe("parse rules (docs/protocol.md)", () => {
  it.each(ROWS)("%s", (_id, input, want) => {
    expect(input).not.toBe(P);
    expect(outcome(input)).toBe(want);
  });

  it("every row id appears in the docs table and the table has no row without a vector", async () => {
    const { default: doc } = await import("../../docs/protocol.md?raw");
    const ids = [...doc.matchAll(/^\| `([a-z0-9-]+)`/gm)].map((m) => m[1]);
    expect(ids.sort()).toEqual(ROWS.map(([id]) => id).sort());
  });
});
