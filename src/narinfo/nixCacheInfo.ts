import { FormatError } from "./errors";
import { STORE_DIR } from "./storePath";

/** `/nix-cache-info`. cache.nixos.org serves exactly "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n". */
export interface NixCacheInfo {
  storeDir: string;
  wantMassQuery: boolean;
  priority: number;
}

/** libstore/binary-cache-store.cc: a cache's priority when its nix-cache-info has none. */
const DEFAULT_PRIORITY = 50;

export function formatNixCacheInfo(i: NixCacheInfo): string {
  return `StoreDir: ${i.storeDir}\nWantMassQuery: ${i.wantMassQuery ? 1 : 0}\nPriority: ${i.priority}\n`;
}

/**
 * As the client reads it (libstore/binary-cache-store.cc, BinaryCacheStore::init): lines split at
 * the first ':', both sides trimmed, lines without ':' and unknown keys ignored, WantMassQuery true
 * only for "1". A Priority that is not an integer is an error here; Nix would ignore it.
 */
export function parseNixCacheInfo(text: string): NixCacheInfo {
  const info: NixCacheInfo = { storeDir: STORE_DIR, wantMassQuery: false, priority: DEFAULT_PRIORITY };
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "StoreDir") info.storeDir = value;
    else if (key === "WantMassQuery") info.wantMassQuery = value === "1";
    else if (key === "Priority") {
      if (!/^-?[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new FormatError("nix-cache-info", `invalid Priority '${value}'`);
      }
      info.priority = Number(value);
    }
  }
  return info;
}
