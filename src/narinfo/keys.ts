import { base64Decode, base64Encode } from "./base64";
import { FormatError } from "./errors";

/** An Ed25519 public key as in nix.conf trusted-public-keys: `name:base64(32 bytes)`. */
export interface PublicKey {
  name: string;
  key: Uint8Array;
}

/** A Nix secret key file: `name:base64(64 bytes)`, libsodium's layout of seed then public key. */
export interface SecretKey {
  name: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 64;

/**
 * Splits `name:base64` at the first ':' (libstore/crypto.cc in Nix 2.8, Key::Key; later
 * libutil/signature/local-keys.cc). An empty name or payload is corrupt there too.
 */
export function splitNamedValue(s: string, what: string): { name: string; payload: Uint8Array } {
  const colon = s.indexOf(":");
  if (colon <= 0) throw new FormatError(what, "expected 'name:base64'");
  const name = s.slice(0, colon);
  // Names appear in Sig lines and in whitespace-separated settings; Nix forbids neither, but a
  // name with whitespace or control characters could never be matched there.
  if (/[\s\x00-\x1f\x7f]/.test(name)) throw new FormatError(what, "name has whitespace or control characters");
  try {
    return { name, payload: base64Decode(s.slice(colon + 1)) };
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(what, e.message);
    throw e;
  }
}

export function parsePublicKey(s: string): PublicKey {
  const { name, payload } = splitNamedValue(s, "public key");
  if (payload.length !== PUBLIC_KEY_BYTES) throw new FormatError("public key", `key is not ${PUBLIC_KEY_BYTES} bytes`);
  return { name, key: payload };
}

export function parseSecretKey(s: string): SecretKey {
  // Secrets pasted from a key file (`cat sk | wrangler secret put`) may carry a final newline.
  const { name, payload } = splitNamedValue(s.trim(), "secret key");
  if (payload.length !== SECRET_KEY_BYTES) throw new FormatError("secret key", `key is not ${SECRET_KEY_BYTES} bytes`);
  return { name, seed: payload.slice(0, 32), publicKey: payload.slice(32) };
}

/** nix.conf `trusted-public-keys`: whitespace-separated keys; a bad one is an error, as in Nix. */
export function parseTrustedPublicKeys(s: string): PublicKey[] {
  return s
    .split(/\s+/)
    .filter((k) => k !== "")
    .map(parsePublicKey);
}

export function formatPublicKey(k: PublicKey): string {
  return `${k.name}:${base64Encode(k.key)}`;
}

/** The public half of a secret key, in trusted-public-keys form. */
export function secretKeyPublicKey(sk: SecretKey): PublicKey {
  return { name: sk.name, key: sk.publicKey };
}
