import { FormatError } from "./errors";
import { isNix32Digits } from "./nix32";

export const STORE_DIR = "/nix/store";

/** A store path split at the first '-': 32 nix32 characters (160 bits) and a name. */
export interface StorePath {
  hash: string;
  name: string;
}

export const STORE_PATH_HASH_LEN = 32;
/** libstore/path.hh, StorePath::MaxPathLen. */
const STORE_PATH_NAME_MAX_LEN = 211;

/** The hash part of a store path, as in `/<hash>.narinfo` (libstore/path.cc, StorePath::StorePath). */
export function parseStorePathHash(s: string): string {
  if (s.length !== STORE_PATH_HASH_LEN) throw hashError();
  checkHash(s, 0);
  return s;
}

/** The 32 characters of `s` from `start` on are a store path hash (their alphabet: isNix32Digits). */
function checkHash(s: string, start: number): void {
  if (!isNix32Digits(s, start, start + STORE_PATH_HASH_LEN)) throw hashError();
}

const hashError = () => new FormatError("store path", "hash part is not 32 nix32 characters");

/** libstore/path.cc, checkName: the same rules as the nameRegexStr in path-regex.hh. */
export function parseStorePathName(s: string): string {
  checkName(s, 0, s.length);
  return s;
}

/** The characters nameRegexStr allows (libstore/path-regex.hh: `[0-9a-zA-Z+\-._?=]`), by character code. */
const NAME_CHARS = (() => {
  const table = new Uint8Array(128);
  for (const c of "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+-._?=") table[c.charCodeAt(0)] = 1;
  return table;
})();
const DOT = 0x2e;
const DASH = 0x2d;

/**
 * checkName on the characters of `s` from `start` to `end`, read in place: a narinfo names eight or so store paths,
 * and cutting each one out of the text first costs more than the check (bench/RESULTS.md, pure core).
 */
function checkName(s: string, start: number, end: number): void {
  const length = end - start;
  if (length === 0) throw new FormatError("store path", "name is empty");
  if (length > STORE_PATH_NAME_MAX_LEN) {
    throw new FormatError("store path", `name is longer than ${STORE_PATH_NAME_MAX_LEN} characters`);
  }
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code >= 128 || NAME_CHARS[code] === 0) throw new FormatError("store path", "name has a forbidden character");
  }
  // libstore/path-regex.hh nameRegexStr: (?!\.\.?(-|$)) — no ".", "..", ".-…" or "..-…".
  if (s.charCodeAt(start) === DOT) {
    const dots = length > 1 && s.charCodeAt(start + 1) === DOT ? 2 : 1;
    if (length === dots || s.charCodeAt(start + dots) === DASH) {
      throw new FormatError("store path", `name '${s.slice(start, end)}' is not allowed`);
    }
  }
}

/** `<hash>-<name>`, the form used in References and Deriver. */
export function parseStorePathBaseName(base: string): StorePath {
  return parseStorePathBaseNameIn(base, 0, base.length);
}

/**
 * parseStorePathBaseName on the characters of `s` from `start` to `end`, checked in place (the narinfo parser reads
 * its store paths this way); only the hash and the name are cut out.
 */
export function parseStorePathBaseNameIn(s: string, start: number, end: number): StorePath {
  const hashEnd = start + STORE_PATH_HASH_LEN;
  if (end - start < STORE_PATH_HASH_LEN + 1 || s.charCodeAt(hashEnd) !== DASH) {
    throw new FormatError("store path", "base name is not '<hash>-<name>'");
  }
  checkHash(s, start);
  checkName(s, hashEnd + 1, end);
  return { hash: s.slice(start, hashEnd), name: s.slice(hashEnd + 1, end) };
}

/**
 * A full path directly inside `storeDir`. Nix canonicalises the path first (libstore store-api.cc,
 * Store::parseStorePath); we take only the canonical spelling, which is all Nix ever writes.
 */
export function parseStorePath(path: string, storeDir: string = STORE_DIR): StorePath {
  return parseStorePathIn(path, 0, path.length, storeDir);
}

/** parseStorePath on the characters of `s` from `start` to `end`, checked in place. */
export function parseStorePathIn(s: string, start: number, end: number, storeDir: string = STORE_DIR): StorePath {
  const base = start + storeDir.length + 1;
  if (end < base || !s.startsWith(storeDir, start) || s.charCodeAt(base - 1) !== SLASH) {
    throw new FormatError("store path", `path is not in ${storeDir}`);
  }
  return parseStorePathBaseNameIn(s, base, end);
}
const SLASH = 0x2f;

export function storePathBaseName(p: StorePath): string {
  return `${p.hash}-${p.name}`;
}

export function formatStorePath(p: StorePath, storeDir: string = STORE_DIR): string {
  return `${storeDir}/${storePathBaseName(p)}`;
}
