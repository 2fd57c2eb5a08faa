import { describe, expect, it } from "vitest";
import { contentTypeFor } from "../../scripts/lib/content-type.mjs";
import { contentTypeFor as s3ClientContentType } from "../../scripts/s3-client.mjs";
import { contentTypeFor as seedR2ContentType } from "../../scripts/seed-r2.mjs";
import { contentTypeOf, parseRoute } from "../../src/routing/routes";

// One key of every route kind, as `nix copy --to file://…` lays a cache out.
const KEYS = [
  "nix-cache-info",
  "0zj84v6fzqyhk7q4f0ajg0nqsmdqbd5q.narinfo",
  "0zj84v6fzqyhk7q4f0ajg0nqsmdqbd5q.ls",
  "nar/1n7ncbskkmjiygs5pgla0kxg08rlwm6sf0543bzx7snl92vz2i0k.nar.zst",
  "nar/10h43zhk74570rrqv747jn7k3pbdwh7gxh5143r60sh13hxj566d.nar.xz",
  "nar/10h43zhk74570rrqv747jn7k3pbdwh7gxh5143r60sh13hxj566d.nar",
  "log/0zj84v6fzqyhk7q4f0ajg0nqsmdqbd5q-hello-2.12.drv",
  `realisations/sha256:${"ab".repeat(32)}!out.doi`,
  "build-trace-v2/0zj84v6fzqyhk7q4f0ajg0nqsmdqbd5q-hello-2.12.drv/out.doi",
  `debuginfo/${"0123456789".repeat(4)}`,
];

describe("one content-type table for the worker and the upload scripts", () => {
  it("covers every route kind but the landing page", () => {
    const kinds = new Set(KEYS.map((key) => parseRoute(`/${key}`)?.kind));
    expect([...kinds].sort()).toEqual([
      "build-trace",
      "cache-info",
      "debuginfo",
      "listing",
      "log",
      "nar",
      "narinfo",
      "realisation",
    ]);
  });

  it.each(KEYS)("%s is uploaded with the type the worker serves it with", (key) => {
    const route = parseRoute(`/${key}`);
    if (!route) throw new Error(`${key} is not a route`);
    expect(contentTypeFor(key)).toBe(contentTypeOf(route));
    expect(seedR2ContentType(key)).toBe(contentTypeOf(route));
    expect(s3ClientContentType(key)).toBe(contentTypeOf(route));
  });

  it.each(["README", "nar", "realisations", "some/other/file.txt"])(
    "%s, not a cache object, is application/octet-stream",
    (key) => {
      expect(contentTypeFor(key)).toBe("application/octet-stream");
    },
  );
});
