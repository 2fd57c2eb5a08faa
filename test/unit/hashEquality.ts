import { expect } from "vitest";

/**
 * A NixHash is its algorithm and its bytes, whatever object holds them: one read from `sha256:<nix32>` keeps that text
 * and decodes its bytes when asked (src/narinfo/hash.ts), so toEqual compares hashes as hashesEqual does.
 */
function isHash(x: unknown): x is { algo: string; bytes: Uint8Array } {
  return typeof x === "object" && x !== null && "algo" in x && (x as { bytes?: unknown }).bytes instanceof Uint8Array;
}

expect.addEqualityTesters([
  (a: unknown, b: unknown) => {
    if (!isHash(a) || !isHash(b)) return undefined;
    return a.algo === b.algo && a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);
  },
]);
