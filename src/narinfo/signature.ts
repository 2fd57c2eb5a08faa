import { base64DecodeAsNix, base64DecodeInto, base64Encode, base64LengthAsNix } from "./base64";
import { FormatError } from "./errors";
import { narinfoFingerprintBytes } from "./fingerprint";
import { PUBLIC_KEY_BYTES, type PublicKey, type SecretKey } from "./keys";
import type { Narinfo } from "./narinfo";
import { STORE_DIR } from "./storePath";

/** One narinfo `Sig` line: `<key name>:<base64 of a 64-byte Ed25519 signature>`. */
export interface NarinfoSignature {
  keyName: string;
  sig: Uint8Array;
}

export const SIGNATURE_BYTES = 64;

/** What a key name may not contain: it could then never match a trusted-public-keys entry. */
const NAME_SPACE = /[\s\x00-\x1f\x7f]/;

/**
 * `<key name>:<base64>` split at the first ':' with Nix's lenient base64 (unpadded is fine), then exactly 64 bytes:
 * Nix ≥ 2.34 rejects the whole narinfo over a Sig it cannot split or decode (libutil/signature/local-keys.cc,
 * Signature::parse), and 2.3 errors when a trusted key's signature has another length (verifyDetached). A Sig that
 * fails here is dropped before serving (docs/protocol.md, "Parse rules").
 */
export function parseSignature(s: string): NarinfoSignature {
  const colon = s.indexOf(":");
  if (colon <= 0) throw new FormatError("signature", "expected 'name:base64'");
  const keyName = s.slice(0, colon);
  if (nameHasSpace(s, colon)) throw new FormatError("signature", "name has whitespace or control characters");
  let sig: Uint8Array;
  try {
    sig = base64DecodeAsNix(s.slice(colon + 1));
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError("signature", e.message);
    throw e;
  }
  if (sig.length !== SIGNATURE_BYTES) throw new FormatError("signature", `not ${SIGNATURE_BYTES} bytes`);
  return { keyName, sig };
}

export function formatSignature(s: NarinfoSignature): string {
  return `${s.keyName}:${base64Encode(s.sig)}`;
}

export type VerifyResult =
  { valid: true; keyName: string } | { valid: false; reason: "unsigned" | "no-trusted-key" | "bad-signature" };

const ED25519 = { name: "Ed25519" } as const;

// Imported verify keys, keyed by the parsed key's bytes (parsed once per config, so the same object on every
// request): a cache of parsed configuration that goes when the config does. Keying by object rather than by an
// encoding of the key saves work on every verify (bench/RESULTS.md, pure core); once imported, the key itself is at
// hand without waiting on a promise.
const verifyKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const importedVerifyKeys = new WeakMap<Uint8Array, CryptoKey>();

function importVerifyKey(key: PublicKey): Promise<CryptoKey> {
  let k = verifyKeys.get(key.key);
  if (k === undefined) {
    k = crypto.subtle.importKey("raw", key.key, ED25519, false, ["verify"]);
    // A failed import must not stay cached.
    k.then(
      (imported) => importedVerifyKeys.set(key.key, imported),
      () => verifyKeys.delete(key.key),
    );
    verifyKeys.set(key.key, k);
  }
  return k;
}

/** Reused for the fingerprint's bytes (verifyNarinfoSignatures); a larger fingerprint gets its own. */
const scratch = new Uint8Array(16 * 1024);

/**
 * Ed25519 signatures are over the fingerprint's UTF-8 bytes (libutil/signature/local-keys.cc, verifyDetached). The
 * bytes may be those of a reused buffer, the fingerprint's or the Sig's: Web Crypto copies the data when verify is
 * called (docs/toolchain.md, "Web Crypto in workerd"), and a fresh buffer of a few hundred bytes costs more than
 * writing into it (bench/RESULTS.md, pure core). Not an async function: with the key imported already, the runtime's
 * promise is returned as it is.
 */
function verifyBytes(data: Uint8Array, sig: Uint8Array, key: PublicKey): Promise<boolean> {
  if (key.key.length !== PUBLIC_KEY_BYTES)
    return Promise.reject(new FormatError("public key", `key is not ${PUBLIC_KEY_BYTES} bytes`));
  if (sig.length !== SIGNATURE_BYTES) return Promise.resolve(false);
  const imported = importedVerifyKeys.get(key.key);
  if (imported) return crypto.subtle.verify(ED25519, imported, sig, data);
  // Until the key is imported the call waits, so it takes copies that no later call can overwrite.
  const [ownData, ownSig] = [data.slice(), sig.slice()];
  return importVerifyKey(key).then((k) => crypto.subtle.verify(ED25519, k, ownSig, ownData));
}

const PRINTABLE_FIRST = 0x21;
const PRINTABLE_LAST = 0x7e;

/**
 * Whether parseSignature accepts `s`, found without decoding it: parseNarinfo asks this of every Sig line it reads,
 * and only a trusted key's Sig is ever decoded, once, when verifying (bench/RESULTS.md, pure core).
 */
export function isWellFormedSignature(s: string): boolean {
  const colon = s.indexOf(":");
  if (colon <= 0) return false;
  return !nameHasSpace(s, colon) && base64LengthAsNix(s, colon + 1) === SIGNATURE_BYTES;
}

/** NAME_SPACE.test(s.slice(0, end)), without the expression for a name of printable ASCII other than space. */
function nameHasSpace(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code < PRINTABLE_FIRST || code > PRINTABLE_LAST) return NAME_SPACE.test(s.slice(0, end));
  }
  return false;
}

/**
 * Valid when at least one Sig by a key named in `keys` verifies over the fingerprint, which is the
 * client's own rule (libstore/path-info.cc, checkSignatures counts good signatures; the substituter
 * needs one). Malformed Sig lines are skipped, as Nix skips signatures it cannot check.
 * Reasons: "unsigned" — no well-formed Sig at all; "no-trusted-key" — none by a key named in `keys`;
 * "bad-signature" — some were, none verified (including when NarHash is not sha256, which cannot
 * have a valid fingerprint).
 */
export function verifyNarinfo(n: Narinfo, keys: PublicKey[], storeDir: string = STORE_DIR): Promise<VerifyResult> {
  // Not an async function: a promise chain costs the runtime less than an await (bench/RESULTS.md, pure core). What
  // an async function would have thrown is a rejected promise here as well.
  try {
    return verifyNarinfoSignatures(n, keys, storeDir);
  } catch (e) {
    return Promise.reject(e);
  }
}

function verifyNarinfoSignatures(n: Narinfo, keys: PublicKey[], storeDir: string): Promise<VerifyResult> {
  // Only Sigs by a key named in `keys` are decoded, one after the other until one verifies; the others matter only
  // to tell "unsigned" from "no-trusted-key", and only when no trusted one is there.
  let tried = false;
  const next = (line: number, key: number): Promise<VerifyResult> => {
    for (; line < n.sigs.length; line++, key = 0) {
      const s = n.sigs[line]!;
      // The key name is what precedes the first ':'. A trusted key's name has none (parsePublicKey splits there).
      const colon = s.indexOf(":");
      for (; key < keys.length; key++) {
        const k = keys[key]!;
        if (colon !== k.name.length || !s.startsWith(k.name)) continue;
        const sig = signatureBytes(s, colon);
        // A malformed Sig is skipped for every key, as Nix skips signatures it cannot check.
        if (sig === undefined) break;
        tried = true;
        let fingerprint: Uint8Array;
        try {
          // Written anew for each Sig tried: the buffer it shares may have been written by another verify since.
          fingerprint = narinfoFingerprintBytes(n, storeDir, scratch);
        } catch (e) {
          if (e instanceof FormatError) return Promise.resolve(BAD_SIGNATURE);
          throw e;
        }
        // `line` and `key` stay as they are from here: the loop is left.
        return verifyBytes(fingerprint, sig, k).then((ok) => (ok ? validBy(k) : next(line, key + 1)));
      }
    }
    if (tried) return Promise.resolve(BAD_SIGNATURE);
    // No trusted key's Sig was well-formed: only the others can decide.
    return Promise.resolve({
      valid: false,
      reason: n.sigs.some(isWellFormedSignature) ? "no-trusted-key" : "unsigned",
    });
  };
  return next(0, 0);
}

const BAD_SIGNATURE: VerifyResult = Object.freeze({ valid: false, reason: "bad-signature" });

function validBy(k: PublicKey): VerifyResult {
  return { valid: true, keyName: k.name };
}

/** Reused for the Sig being verified: the runtime copies it at the call (see verifyBytes). */
const sigScratch = new Uint8Array(SIGNATURE_BYTES);
/** The 88 characters of a canonical Sig's base64: 86 that carry its 64 bytes, then "==". */
const CANONICAL_SIG_CHARS = Math.ceil(SIGNATURE_BYTES / 3) * 4;

/**
 * The bytes of the Sig line `s` whose name ends at `colon`, or undefined where parseSignature refuses it. The
 * canonical spelling (every Sig parseNarinfo keeps is written so) is decoded in place into the reused buffer, valid
 * until the next call; any other goes through parseSignature (bench/RESULTS.md, pure core).
 */
function signatureBytes(s: string, colon: number): Uint8Array | undefined {
  if (nameHasSpace(s, colon)) return undefined;
  const from = colon + 1;
  if (s.length - from === CANONICAL_SIG_CHARS && base64DecodeInto(s, from, sigScratch)) return sigScratch;
  try {
    return parseSignature(s).sig;
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}

// DER PKCS#8 PrivateKeyInfo header for an Ed25519 key (RFC 8410 §7): the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

export function ed25519SeedToPkcs8(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new FormatError("secret key", "seed is not 32 bytes");
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32);
  der.set(PKCS8_ED25519_PREFIX);
  der.set(seed, PKCS8_ED25519_PREFIX.length);
  return der;
}

// Imported signing keys, keyed by the parsed key's seed array (no secret text kept as a map key).
const signingKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/**
 * Imports the seed and checks that it yields the public half stored in the key file: a spliced or
 * truncated secret would otherwise sign with a key no client trusts, failing only at the client.
 */
function importSigningKey(sk: SecretKey): Promise<CryptoKey> {
  let k = signingKeys.get(sk.seed);
  if (k === undefined) {
    k = (async () => {
      const key = await crypto.subtle.importKey("pkcs8", ed25519SeedToPkcs8(sk.seed), ED25519, true, ["sign"]);
      const jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
      if (jwk.x !== base64UrlEncode(sk.publicKey)) {
        throw new FormatError("secret key", "public half does not match the seed");
      }
      return key;
    })();
    k.catch(() => signingKeys.delete(sk.seed));
    signingKeys.set(sk.seed, k);
  }
  return k;
}

function base64UrlEncode(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** The raw 64-byte signature of the fingerprint's UTF-8 bytes. */
async function signBytes(data: Uint8Array, sk: SecretKey): Promise<Uint8Array> {
  const key = await importSigningKey(sk);
  return new Uint8Array(await crypto.subtle.sign(ED25519, key, data));
}

/** A Sig line value, `<key name>:<base64>`, as `nix store sign` would add. */
export async function signNarinfo(n: Narinfo, sk: SecretKey, storeDir: string = STORE_DIR): Promise<string> {
  const sig = await signBytes(narinfoFingerprintBytes(n, storeDir), sk);
  return formatSignature({ keyName: sk.name, sig });
}
