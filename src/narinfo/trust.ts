/**
 * Whether a narinfo may be served: Nix's own rule (libstore/path-info.cc, checkSignatures), which accepts a
 * content-addressed path without any signature and any other path only with a good signature by a trusted key.
 * One function, so the cache worker's decision and the admin worker's report of it cannot disagree
 * (docs/protocol.md, "Content-addressed paths").
 */
import { isContentAddressed } from "./contentAddress";
import type { Narinfo } from "./narinfo";
import type { PublicKey } from "./keys";
import { type VerifyResult, verifyNarinfo } from "./signature";
import { STORE_DIR } from "./storePath";

type Trust = { valid: true; contentAddressed: true } | VerifyResult;

export async function trustNarinfo(n: Narinfo, keys: PublicKey[], storeDir: string = STORE_DIR): Promise<Trust> {
  // The CA check comes first, as in Nix: it needs no key and a signature is then irrelevant.
  if (await isContentAddressed(n, storeDir)) return { valid: true, contentAddressed: true };
  return verifyNarinfo(n, keys, storeDir);
}
