import { FormatError } from "./errors";
import { formatNixHash } from "./hash";
import type { Narinfo } from "./narinfo";
import { STORE_DIR, formatStorePath, storePathBaseName } from "./storePath";

/**
 * What a narinfo Sig signs (libstore/path-info.cc, ValidPathInfo::fingerprint):
 * `1;<store path>;sha256:<nix32 NarHash>;<NarSize>;<full reference paths, sorted, joined by ",">`.
 * The NarHash is re-encoded as nix32 whatever form the narinfo used. References are a set in Nix,
 * so duplicates collapse. Empty references leave a trailing ";".
 */
export function narinfoFingerprint(n: Narinfo, storeDir: string = STORE_DIR): string {
  // Nix 2.x refuses to fingerprint a non-SHA-256 NarHash ("its hash is not SHA-256").
  if (n.narHash.algo !== "sha256") throw new FormatError("narinfo", "NarHash is not sha256");
  if (n.narSize === 0) throw new FormatError("narinfo", "NarSize is zero");
  // Full paths share the store directory, so sorting base names sorts them; equal ones end up side by side.
  const names = n.references.map(storePathBaseName).sort();
  const prefix = `${storeDir}/`;
  let refs = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && names[i] === names[i - 1]) continue;
    refs += i > 0 ? `,${prefix}${names[i]!}` : `${prefix}${names[i]!}`;
  }
  return `1;${formatStorePath(n.storePath, storeDir)};${formatNixHash(n.narHash)};${n.narSize};${refs}`;
}
