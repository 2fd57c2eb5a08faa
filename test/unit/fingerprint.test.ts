import { describe, expect, it } from "vitest";
import { base16Encode } from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";
import { narinfoFingerprint } from "../../src/narinfo/fingerprint";
import { parseNarinfo } from "../../src/narinfo/narinfo";
import { parseStorePathBaseName } from "../../src/narinfo/storePath";
import { CACHE_NIXOS_ORG_NARINFOS, NIX_SIGNED_CONTENT_ADDRESSED, PROTOCOL_NARINFO } from "./nixVectors";

const FP =
  "1;/nix/store/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app;" +
  "sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs;552;" +
  "/nix/store/d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep";

describe("narinfoFingerprint", () => {
  it("is 1;path;sha256:nix32;size;refs for the protocol example", () => {
    expect(narinfoFingerprint(parseNarinfo(PROTOCOL_NARINFO))).toBe(FP);
  });

  it("leaves a trailing ';' when there are no references", () => {
    expect(narinfoFingerprint(parseNarinfo(NIX_SIGNED_CONTENT_ADDRESSED))).toBe(
      "1;/nix/store/l43qfskksv9l99ia2xisvqvn9cpggyd7-dep.txt;" +
        "sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv;120;",
    );
  });

  it("sorts references as full paths and drops duplicates, whatever the file order", () => {
    const n = parseNarinfo(CACHE_NIXOS_ORG_NARINFOS["n5glp21rsz314qssw9fbvfswgy3kc68f"]!);
    const expected = narinfoFingerprint(n);
    expect(
      expected.endsWith(
        ";/nix/store/n5glp21rsz314qssw9fbvfswgy3kc68f-hello-2.12.1," +
          "/nix/store/qdcbgcj27x2kpxj2sf9yfvva7qsgg64g-glibc-2.38-77",
      ),
    ).toBe(true);
    const shuffled = { ...n, references: [...n.references].reverse() };
    expect(narinfoFingerprint(shuffled)).toBe(expected);
    expect(narinfoFingerprint({ ...n, references: [...n.references, ...n.references] })).toBe(expected);
  });

  it("sorts by full path, not by name", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    const refs = ["zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-a", "00000000000000000000000000000000-z"].map(
      parseStorePathBaseName,
    );
    expect(narinfoFingerprint({ ...n, references: refs })).toMatch(
      /;552;\/nix\/store\/00000000000000000000000000000000-z,\/nix\/store\/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-a$/,
    );
  });

  it("normalises a base16, base64 or SRI NarHash to nix32", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    const hex = PROTOCOL_NARINFO.replace(/NarHash: .*/, `NarHash: sha256:${base16Encode(n.narHash.bytes)}`);
    expect(narinfoFingerprint(parseNarinfo(hex))).toBe(FP);
  });

  it("uses the store directory", () => {
    const text = PROTOCOL_NARINFO.replaceAll("/nix/store/", "/opt/store/");
    expect(narinfoFingerprint(parseNarinfo(text, "/opt/store"), "/opt/store")).toBe(
      FP.replaceAll("/nix/store/", "/opt/store/"),
    );
  });

  it("refuses a NarHash that is not sha256", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    expect(() => narinfoFingerprint({ ...n, narHash: { algo: "sha512", bytes: new Uint8Array(64) } })).toThrow(
      FormatError,
    );
  });
});
