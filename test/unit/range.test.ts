import { describe, expect, it } from "vitest";
import {
  formatRangeHeader,
  parseContentRange,
  parseRangeHeader,
  resolveRange,
  type ByteRange,
  type ResolvedRange,
} from "../../src/routing/range";

describe("parseRangeHeader", () => {
  it.each([
    // What Nix sends to resume a cut download (libstore/filetransfer.cc), and the other single-range forms.
    ["bytes=100-", { offset: 100 }],
    ["bytes=0-0", { offset: 0, end: 0 }],
    ["bytes=10-19", { offset: 10, end: 19 }],
    ["bytes=-500", { suffix: 500 }],
    ["bytes=-0", { suffix: 0 }],
    // Whitespace and case are tolerated.
    ["  Bytes = 5 - 9 ", { offset: 5, end: 9 }],
    ["BYTES=7-", { offset: 7 }],
  ] as [string, ByteRange][])("%j → %j", (header, range) => {
    expect(parseRangeHeader(header)).toEqual(range);
  });

  it.each([
    [null, "absent"],
    ["", "empty"],
    ["bytes=-", "neither end"],
    ["bytes=5-4", "end before start"],
    ["bytes=0-1,5-6", "several ranges: served whole, as RFC 9110 allows"],
    ["items=0-1", "another unit"],
    ["bytes=a-b", "not numbers"],
    ["bytes 0-1", "no ="],
    ["bytes=1.5-2", "fractions"],
  ] as [string | null, string][])("%j (%s) → null: the whole object", (header) => {
    expect(parseRangeHeader(header)).toBeNull();
  });
});

describe("resolveRange", () => {
  it.each([
    [{ offset: 0 }, 10, { offset: 0, length: 10 }],
    [{ offset: 9 }, 10, { offset: 9, length: 1 }],
    [{ offset: 2, end: 4 }, 10, { offset: 2, length: 3 }],
    [{ offset: 2, end: 99 }, 10, { offset: 2, length: 8 }],
    [{ suffix: 3 }, 10, { offset: 7, length: 3 }],
    [{ suffix: 99 }, 10, { offset: 0, length: 10 }],
    [{ suffix: 10 }, 10, { offset: 0, length: 10 }],
    // Unsatisfiable: 416.
    [{ offset: 10 }, 10, null],
    [{ offset: 11, end: 20 }, 10, null],
    [{ offset: 0 }, 0, null],
    [{ suffix: 0 }, 10, null],
    [{ suffix: 5 }, 0, null],
  ] as [ByteRange, number, ResolvedRange | null][])("%j of %i bytes → %j", (range, size, resolved) => {
    expect(resolveRange(range, size)).toEqual(resolved);
  });
});

describe("formatRangeHeader", () => {
  it.each([
    [{ offset: 100 }, "bytes=100-"],
    [{ offset: 0, end: 0 }, "bytes=0-0"],
    [{ offset: 3, end: 7 }, "bytes=3-7"],
    [{ suffix: 42 }, "bytes=-42"],
  ] as [ByteRange, string][])("%j → %s, which parses back to the same range", (range, header) => {
    expect(formatRangeHeader(range)).toBe(header);
    expect(parseRangeHeader(header)).toEqual(range);
  });
});

describe("parseContentRange", () => {
  it.each([
    ["bytes 0-9/10", { offset: 0, length: 10, size: 10 }],
    ["bytes 5-5/100", { offset: 5, length: 1, size: 100 }],
    ["bytes 10-19/*", { offset: 10, length: 10, size: undefined }],
    [" bytes 1-2/3 ", { offset: 1, length: 2, size: 3 }],
    [null, null],
    ["", null],
    ["bytes */10", null],
    ["bytes 9-5/10", null],
    ["bytes=0-9/10", null],
    ["bytes 0-9", null],
  ] as [string | null, ReturnType<typeof parseContentRange>][])("%j → %j", (header, parsed) => {
    expect(parseContentRange(header)).toEqual(parsed);
  });
});
