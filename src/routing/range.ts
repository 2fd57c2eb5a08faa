/**
 * Single byte ranges, the only kind Nix sends (`Range: bytes=N-` to resume a cut download,
 * libstore/filetransfer.cc). Multi-range requests are answered in full, as RFC 9110 §14.2 allows.
 */
export type ByteRange = { offset: number; end?: number } | { suffix: number };

export interface ResolvedRange {
  offset: number;
  length: number;
}

/** `null` when there is no usable Range header (absent, not bytes, several ranges): serve the whole object. */
export function parseRangeHeader(header: string | null): ByteRange | null {
  if (header === null) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return null;
  if (first === "") return { suffix: Number(last) };
  const offset = Number(first);
  if (last === "") return { offset };
  const end = Number(last);
  if (end < offset) return null;
  return { offset, end };
}

/** Clamps a range to an object of `size` bytes; `null` means 416. */
export function resolveRange(range: ByteRange, size: number): ResolvedRange | null {
  if ("suffix" in range) {
    if (range.suffix === 0 || size === 0) return null;
    const length = Math.min(range.suffix, size);
    return { offset: size - length, length };
  }
  if (range.offset >= size) return null;
  const end = Math.min(range.end ?? size - 1, size - 1);
  return { offset: range.offset, length: end - range.offset + 1 };
}

export function formatRangeHeader(range: ByteRange): string {
  if ("suffix" in range) return `bytes=-${range.suffix}`;
  return `bytes=${range.offset}-${range.end ?? ""}`;
}

/** Parses `Content-Range: bytes a-b/size` (size may be `*`). */
export function parseContentRange(header: string | null): { offset: number; length: number; size?: number } | null {
  if (!header) return null;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return null;
  const offset = Number(m[1]);
  const end = Number(m[2]);
  if (end < offset) return null;
  return { offset, length: end - offset + 1, size: m[3] === "*" ? undefined : Number(m[3]) };
}
