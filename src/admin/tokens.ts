/**
 * Bearer tokens with scopes. ADMIN_TOKENS (a secret) holds only the SHA-256 of each token, so neither the
 * secret store, a leaked config nor the audit log ever holds a usable token. The presented token is hashed and
 * compared with every configured hash in constant time, without stopping at a match, so timing reveals neither
 * which entry matched nor how many bytes did.
 */
import { ConfigError } from "../config";
import { base16Decode } from "../narinfo/base64";

export const SCOPES = ["purge", "block", "delete", "read"] as const;
export type Scope = (typeof SCOPES)[number];

export interface AdminToken {
  /** Named in the audit log and in logs; never the token. */
  id: string;
  sha256: Uint8Array;
  scopes: ReadonlySet<Scope>;
}

export function parseAdminTokens(value: string | undefined): AdminToken[] {
  if (value === undefined || value === "") return [];
  let entries: unknown;
  try {
    entries = JSON.parse(value);
  } catch {
    // Never echo the value: it is a secret.
    throw new ConfigError("ADMIN_TOKENS is not valid JSON");
  }
  if (!Array.isArray(entries)) throw new ConfigError("ADMIN_TOKENS must be a JSON array");
  const ids = new Set<string>();
  return entries.map((entry: unknown, i): AdminToken => {
    const where = `ADMIN_TOKENS[${i}]`;
    if (typeof entry !== "object" || entry === null) throw new ConfigError(`${where} must be an object`);
    const { id, sha256, scopes } = entry as Record<string, unknown>;
    if (typeof id !== "string" || !/^[A-Za-z0-9._@-]{1,64}$/.test(id))
      throw new ConfigError(`${where}.id must be 1-64 of [A-Za-z0-9._@-]`);
    if (ids.has(id)) throw new ConfigError(`${where}.id "${id}" is not unique`);
    ids.add(id);
    if (typeof sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
      throw new ConfigError(`${where}.sha256 must be 64 hex digits (the SHA-256 of the token, not the token)`);
    }
    if (!Array.isArray(scopes) || scopes.some((s) => !(SCOPES as readonly unknown[]).includes(s))) {
      throw new ConfigError(`${where}.scopes must be an array of ${SCOPES.join(", ")}`);
    }
    return { id, sha256: base16Decode(sha256), scopes: new Set(scopes as Scope[]) };
  });
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Equal-length digests only, so the comparison's duration depends on neither input. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

type Authentication = { ok: true; token: AdminToken } | { ok: false; reason: "missing" | "malformed" | "unknown" };

// RFC 6750 §2.1: "Bearer" (case-insensitive) and a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export async function authenticate(request: Request, tokens: readonly AdminToken[]): Promise<Authentication> {
  const header = request.headers.get("authorization");
  if (header === null) return { ok: false, reason: "missing" };
  const m = BEARER.exec(header);
  if (!m || m[1] === undefined || m[1].length > 512) return { ok: false, reason: "malformed" };
  const presented = await sha256(m[1]);
  let found: AdminToken | undefined;
  for (const token of tokens) {
    if (digestsEqual(presented, token.sha256) && found === undefined) found = token;
  }
  return found ? { ok: true, token: found } : { ok: false, reason: "unknown" };
}

/** The hook's shared secret, compared as digests so that lengths leak nothing either. */
export async function hookSecretMatches(presented: string | null, secret: string | undefined): Promise<boolean> {
  if (!secret || presented === null) return false;
  return digestsEqual(await sha256(presented), await sha256(secret));
}
