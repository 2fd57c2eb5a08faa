import { FormatError } from "./errors";
import { isNix32 } from "./nix32";

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
  // 32 digits are exactly 160 bits, so isNix32 adds no overflow check here: it checks the alphabet.
  if (s.length !== STORE_PATH_HASH_LEN || !isNix32(s)) {
    throw new FormatError("store path", "hash part is not 32 nix32 characters");
  }
  return s;
}

/** libstore/path.cc, checkName: the same rules as the nameRegexStr in path-regex.hh. */
export function parseStorePathName(s: string): string {
  if (s.length === 0) throw new FormatError("store path", "name is empty");
  if (s.length > STORE_PATH_NAME_MAX_LEN) {
    throw new FormatError("store path", `name is longer than ${STORE_PATH_NAME_MAX_LEN} characters`);
  }
  if (!/^[0-9a-zA-Z+\-._?=]+$/.test(s)) throw new FormatError("store path", "name has a forbidden character");
  // libstore/path-regex.hh nameRegexStr: (?!\.\.?(-|$)) — no ".", "..", ".-…" or "..-…".
  if (s === "." || s === ".." || s.startsWith(".-") || s.startsWith("..-")) {
    throw new FormatError("store path", `name '${s}' is not allowed`);
  }
  return s;
}

/** `<hash>-<name>`, the form used in References and Deriver. */
export function parseStorePathBaseName(base: string): StorePath {
  if (base.length < STORE_PATH_HASH_LEN + 1 || base[STORE_PATH_HASH_LEN] !== "-") {
    throw new FormatError("store path", "base name is not '<hash>-<name>'");
  }
  return {
    hash: parseStorePathHash(base.slice(0, STORE_PATH_HASH_LEN)),
    name: parseStorePathName(base.slice(STORE_PATH_HASH_LEN + 1)),
  };
}

/**
 * A full path directly inside `storeDir`. Nix canonicalises the path first (libstore store-api.cc,
 * Store::parseStorePath); we take only the canonical spelling, which is all Nix ever writes.
 */
export function parseStorePath(path: string, storeDir: string = STORE_DIR): StorePath {
  const prefix = storeDir + "/";
  if (!path.startsWith(prefix)) throw new FormatError("store path", `path is not in ${storeDir}`);
  return parseStorePathBaseName(path.slice(prefix.length));
}

export function storePathBaseName(p: StorePath): string {
  return `${p.hash}-${p.name}`;
}

export function formatStorePath(p: StorePath, storeDir: string = STORE_DIR): string {
  return `${storeDir}/${storePathBaseName(p)}`;
}
