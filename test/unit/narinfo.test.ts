import { describe, expect, it } from "vitest";
import { FormatError } from "../../src/narinfo/errors";
import { formatNixHash, parseNixHash } from "../../src/narinfo/hash";
import { base16Encode, base64Encode } from "../../src/narinfo/base64";
import {
  MAX_NARINFO_LENGTH,
  formatNarinfo,
  narinfoCompression,
  parseNarinfo,
  withSignatures,
} from "../../src/narinfo/narinfo";
import {
  CACHE_NIXOS_ORG_NARINFOS,
  NIX_SIGNED_CONTENT_ADDRESSED,
  NIX_SIGNED_WITH_REFERENCE,
  PROTOCOL_NARINFO,
} from "./nixVectors";

const REAL: [string, string][] = [
  ["docs/protocol.md example", PROTOCOL_NARINFO],
  ["Nix 2.8 with a reference", NIX_SIGNED_WITH_REFERENCE],
  ["Nix 2.8 content-addressed", NIX_SIGNED_CONTENT_ADDRESSED],
  ...Object.entries(CACHE_NIXOS_ORG_NARINFOS).map(([h, t]): [string, string] => [`cache.nixos.org ${h}`, t]),
];

/** Replaces the line starting with `key: `, or removes it when `value` is null. */
function edit(text: string, key: string, value: string | null): string {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`${key}: `));
  if (i < 0) throw new Error(`no ${key} line`);
  if (value === null) lines.splice(i, 1);
  else lines[i] = `${key}: ${value}`;
  return lines.join("\n");
}

function expectFormatError(text: string, pattern: RegExp): void {
  try {
    parseNarinfo(text);
    expect.unreachable(`parsed: ${JSON.stringify(text)}`);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    expect((e as FormatError).what).toBe("narinfo");
    expect((e as FormatError).message).toMatch(pattern);
  }
}

describe("parseNarinfo on real narinfos", () => {
  for (const [name, text] of REAL) {
    it(`round-trips byte for byte: ${name}`, () => {
      expect(formatNarinfo(parseNarinfo(text))).toBe(text);
    });
  }

  it("reads every field of the protocol example", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    expect(n.storePath).toEqual({ hash: "8bxrx1z5h8ahx4wg51pp3gkni4q6xcai", name: "feas-app" });
    expect(n.url).toBe("nar/0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm.nar.xz");
    expect(n.compression).toBe("xz");
    expect(formatNixHash(n.fileHash!)).toBe("sha256:0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm");
    expect(n.fileSize).toBe(244);
    expect(n.narHash.algo).toBe("sha256");
    expect(n.narHashText).toBe("sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs");
    expect(n.narSize).toBe(552);
    expect(n.references).toEqual([{ hash: "d5yyw2049mh4jpnzspqdl8qmw8lb9vi5", name: "feas-dep" }]);
    expect(n.deriver).toBe("s2bxa55kccmmq8b59fm9i450dyv8br1n-feas-app.drv");
    expect(n.system).toBeUndefined();
    expect(n.sigs).toEqual([
      "cache-test-1:NzXtVG4bylAyTq6fpzXA5LGIuY+oKGlQU5nS59Pr+4B3SMOcUYLCNbASgUSQRrmQRphHyPm7wbN4ALJKi+beDw==",
    ]);
    expect(n.ca).toBeUndefined();
    expect(n.extra).toEqual([]);
  });

  it("reads an empty References line and a CA line", () => {
    const n = parseNarinfo(NIX_SIGNED_CONTENT_ADDRESSED);
    expect(n.references).toEqual([]);
    expect(n.ca).toBe("fixed:r:sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv");
  });

  it("reads a narinfo without FileHash and FileSize", () => {
    const n = parseNarinfo(CACHE_NIXOS_ORG_NARINFOS["c12lxpykv6sld7a0sakcnr3y0la70x8w"]!);
    expect(n.fileHash).toBeUndefined();
    expect(n.fileSize).toBeUndefined();
    expect(n.compression).toBe("none");
  });
});

describe("hash fields keep their spelling", () => {
  const n = parseNarinfo(PROTOCOL_NARINFO);
  const hex = "sha256:" + base16Encode(n.narHash.bytes);
  const b64 = "sha256:" + base64Encode(n.narHash.bytes);
  const sri = "sha256-" + base64Encode(n.narHash.bytes);

  for (const form of [hex, b64, sri]) {
    it(`round-trips NarHash and FileHash written as ${form.slice(0, 12)}…`, () => {
      const text = edit(edit(PROTOCOL_NARINFO, "NarHash", form), "FileHash", form);
      const m = parseNarinfo(text);
      expect(m.narHash).toEqual(n.narHash);
      expect(m.narHashText).toBe(form);
      expect(m.fileHashText).toBe(form);
      expect(formatNarinfo(m)).toBe(text);
    });
  }

  it("writes Nix's nix32 form for upper-case hex and unpadded SRI, which it reads", () => {
    for (const form of [hex.toUpperCase().replace("SHA256", "sha256"), sri.replace(/=+$/, "")]) {
      const m = parseNarinfo(edit(PROTOCOL_NARINFO, "NarHash", form));
      expect(m.narHash).toEqual(n.narHash);
      expect(formatNarinfo(m)).toBe(PROTOCOL_NARINFO);
    }
  });

  it("writes Nix's nix32 form when the kept text no longer matches the hash", () => {
    const m = parseNarinfo(edit(PROTOCOL_NARINFO, "NarHash", hex));
    const other = parseNixHash(`sha256:${"1".padEnd(52, "0")}`);
    expect(formatNarinfo({ ...m, narHash: other })).toContain(`\nNarHash: ${formatNixHash(other)}\n`);
  });
});

describe("parseNarinfo leniency that matches Nix", () => {
  it("accepts a missing final newline", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO.slice(0, -1));
    expect(formatNarinfo(n)).toBe(PROTOCOL_NARINFO);
  });

  it("treats a missing Compression as bzip2 without inventing a line", () => {
    const text = edit(PROTOCOL_NARINFO, "Compression", null);
    const n = parseNarinfo(text);
    expect(n.compression).toBeUndefined();
    expect(narinfoCompression(n)).toBe("bzip2");
    expect(formatNarinfo(n)).toBe(text);
    expect(narinfoCompression(parseNarinfo(edit(PROTOCOL_NARINFO, "Compression", "")))).toBe("bzip2");
    expect(narinfoCompression(parseNarinfo(PROTOCOL_NARINFO))).toBe("xz");
  });

  it("accepts Deriver: unknown-deriver and keeps it verbatim", () => {
    const text = edit(PROTOCOL_NARINFO, "Deriver", "unknown-deriver");
    expect(parseNarinfo(text).deriver).toBe("unknown-deriver");
    expect(formatNarinfo(parseNarinfo(text))).toBe(text);
  });

  it("keeps several Sig lines in order, and System from old Nix", () => {
    const other = `a-1:${base64Encode(new Uint8Array(64).fill(7))}`;
    const text = PROTOCOL_NARINFO.replace("Sig: ", `System: x86_64-linux\nSig: ${other}\nSig: `);
    const n = parseNarinfo(text);
    expect(n.system).toBe("x86_64-linux");
    expect(n.sigs).toHaveLength(2);
    expect(n.sigs[0]).toBe(other);
    expect(formatNarinfo(n)).toBe(text);
  });

  it("keeps unknown keys in order, after CA", () => {
    const text = NIX_SIGNED_CONTENT_ADDRESSED + 'Provenance: {"type":"x"}\nX-Custom: a: b\n';
    const n = parseNarinfo(text);
    expect(n.extra).toEqual([
      ["Provenance", '{"type":"x"}'],
      ["X-Custom", "a: b"],
    ]);
    expect(formatNarinfo(n)).toBe(text);
  });

  it("accepts references that include the path itself, in any order", () => {
    const text = edit(
      PROTOCOL_NARINFO,
      "References",
      "d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep 8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app",
    );
    expect(parseNarinfo(text).references.map((r) => r.name)).toEqual(["feas-dep", "feas-app"]);
    expect(formatNarinfo(parseNarinfo(text))).toBe(text);
  });

  it("accepts another store directory", () => {
    const text = PROTOCOL_NARINFO.replace("/nix/store/", "/opt/store/");
    expect(() => parseNarinfo(text)).toThrow(FormatError);
    expect(formatNarinfo(parseNarinfo(text, "/opt/store"), "/opt/store")).toBe(text);
  });
});

describe("parseNarinfo rejects", () => {
  it("missing required fields, in Nix's order of reporting", () => {
    expectFormatError(edit(PROTOCOL_NARINFO, "StorePath", null), /StorePath missing/);
    expectFormatError(edit(PROTOCOL_NARINFO, "NarHash", null), /NarHash missing/);
    expectFormatError(edit(PROTOCOL_NARINFO, "URL", null), /URL missing/);
    expectFormatError(edit(PROTOCOL_NARINFO, "NarSize", null), /NarSize missing/);
    expectFormatError(edit(PROTOCOL_NARINFO, "URL", ""), /URL missing/);
    expectFormatError(edit(PROTOCOL_NARINFO, "NarSize", "0"), /NarSize is zero/);
  });

  it("sizes that are not plain decimal integers", () => {
    for (const v of ["-552", " 552", "552 ", "5.5", "1e3", "0x10", "", "+", "99999999999999999999"]) {
      expectFormatError(edit(PROTOCOL_NARINFO, "NarSize", v), /NarSize/);
      expectFormatError(edit(PROTOCOL_NARINFO, "FileSize", v), /FileSize/);
    }
  });

  it("a second non-empty References or CA (Nix: 'extra References', 'extra CA')", () => {
    expectFormatError(
      PROTOCOL_NARINFO + "References: d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep\n",
      /duplicate References/,
    );
    const ca = "CA: fixed:r:sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs\n";
    expectFormatError(PROTOCOL_NARINFO + ca + ca, /duplicate CA/);
  });

  it("bad store paths, references, derivers, hashes and CA", () => {
    expectFormatError(edit(PROTOCOL_NARINFO, "StorePath", "/nix/store/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai"), /StorePath/);
    expectFormatError(edit(PROTOCOL_NARINFO, "StorePath", "/tmp/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-x"), /StorePath/);
    expectFormatError(
      edit(PROTOCOL_NARINFO, "References", "/nix/store/d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep"),
      /References/,
    );
    expectFormatError(edit(PROTOCOL_NARINFO, "Deriver", "feas-app.drv"), /Deriver/);
    expectFormatError(
      edit(PROTOCOL_NARINFO, "NarHash", "0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs"),
      /NarHash/,
    );
    expectFormatError(edit(PROTOCOL_NARINFO, "FileHash", "sha256:xyz"), /FileHash/);
    expectFormatError(PROTOCOL_NARINFO + "CA: sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs\n", /CA/);
  });

  it("lines that are not 'Key: value'", () => {
    expectFormatError(PROTOCOL_NARINFO.replace("URL: ", "URL:"), /line 2/);
    expectFormatError(PROTOCOL_NARINFO + "\n", /line 11/); // an empty line
    expectFormatError(PROTOCOL_NARINFO + "garbage\n", /line 11/);
    expectFormatError(PROTOCOL_NARINFO + "X-Key:\n", /line 11/); // Nix would read the next line as its value
  });

  it("CR line endings and other control characters", () => {
    expectFormatError(PROTOCOL_NARINFO.replaceAll("\n", "\r\n"), /control character/);
    expectFormatError(PROTOCOL_NARINFO.replace("xz\n", "xz\t\n"), /control character/);
    expectFormatError(PROTOCOL_NARINFO.replace("xz\n", "xz\0\n"), /control character/);
  });

  it("empty input and absurd sizes", () => {
    expectFormatError("", /empty/);
    expectFormatError("\n", /empty/);
    expectFormatError(PROTOCOL_NARINFO + `X-Pad: ${"a".repeat(MAX_NARINFO_LENGTH)}\n`, /1 MiB/);
  });
});

describe("formatNarinfo", () => {
  it("writes Nix's field order whatever the input order", () => {
    const lines = PROTOCOL_NARINFO.trimEnd().split("\n");
    const shuffled = [...lines].reverse().join("\n") + "\n";
    expect(formatNarinfo(parseNarinfo(shuffled))).toBe(PROTOCOL_NARINFO);
  });

  it("refuses values that would inject lines", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    expect(() => formatNarinfo(withSignatures(n, ["k:AAAA\nStorePath: /nix/store/x"]))).toThrow(FormatError);
    expect(() => formatNarinfo({ ...n, url: "nar/x\r" })).toThrow(FormatError);
    expect(() => formatNarinfo({ ...n, extra: [["Bad: Key", "v"]] })).toThrow(FormatError);
  });
});

describe("withSignatures", () => {
  it("returns a copy with the Sig lines replaced", () => {
    const n = parseNarinfo(PROTOCOL_NARINFO);
    const m = withSignatures(n, ["edge-1:AAAA", "edge-2:BBBB"]);
    expect(m.sigs).toEqual(["edge-1:AAAA", "edge-2:BBBB"]);
    expect(n.sigs).toHaveLength(1);
    m.references.push(m.storePath);
    expect(n.references).toHaveLength(1);
    expect(formatNarinfo(m)).toBe(
      PROTOCOL_NARINFO.replace(/Sig: .*\n/, "Sig: edge-1:AAAA\nSig: edge-2:BBBB\n").replace(
        "References: d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep",
        "References: d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep 8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app",
      ),
    );
  });
});
