/**
 * AWS Signature Version 4 for an S3 origin's reads, in headers: the same canonical request aws4fetch's signer builds
 * for the service "s3" (test/integration/sigv4.test.ts compares the two byte for byte), with less work per request.
 * The signing key is derived and imported once per day and origin, not per request, and nothing is built that the
 * signature does not need: a request costs one SHA-256 and one HMAC (bench/RESULTS.md, section 2).
 */
const encoder = new TextEncoder();

/** Headers never signed, as aws4fetch leaves them out (they may change on the way, or say nothing about the object). */
const UNSIGNABLE = new Set([
  "authorization",
  "content-type",
  "content-length",
  "user-agent",
  "presigned-expires",
  "expect",
  "x-amzn-trace-id",
  "range",
  "connection",
]);

function hex(buffer: ArrayBuffer): string {
  let out = "";
  for (const b of new Uint8Array(buffer)) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

/** RFC 3986 escaping of what encodeURIComponent leaves alone. */
function rfc3986(encoded: string): string {
  return encoded.replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** S3's canonical URI: the path decoded once and encoded once (S3 does not double-encode), slashes kept. */
function canonicalPath(pathname: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname.replace(/\+/g, " "));
  } catch {
    decoded = pathname;
  }
  return rfc3986(encodeURIComponent(decoded).replace(/%2F/g, "/"));
}

function canonicalQuery(params: URLSearchParams): string {
  const seen = new Set<string>();
  return [...params]
    .filter(([k]) => k !== "" && !seen.has(k) && (seen.add(k), true))
    .map(([k, v]) => [rfc3986(encodeURIComponent(k)), rfc3986(encodeURIComponent(v))] as const)
    .sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", imported, encoder.encode(data));
}

export class S3Signer {
  private signingKey?: { day: string; key: Promise<CryptoKey> };

  constructor(
    private readonly credentials: { accessKeyId: string; secretAccessKey: string },
    private readonly region: string,
  ) {}

  /** The day's signing key (AWS4 key derivation), imported once for HMAC. */
  private keyFor(day: string): Promise<CryptoKey> {
    if (this.signingKey?.day !== day) {
      const key = (async () => {
        const kDate = await hmac(encoder.encode(`AWS4${this.credentials.secretAccessKey}`), day);
        const kRegion = await hmac(kDate, this.region);
        const kService = await hmac(kRegion, "s3");
        const kSigning = await hmac(kService, "aws4_request");
        return crypto.subtle.importKey("raw", kSigning, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      })();
      // A failed derivation is not kept: the next request derives again.
      key.catch(() => (this.signingKey = undefined));
      this.signingKey = { day, key };
    }
    return this.signingKey.key;
  }

  /**
   * The headers to send: `headers` plus `x-amz-content-sha256: UNSIGNED-PAYLOAD`, `x-amz-date` and `authorization`,
   * every header signed but those in UNSIGNABLE. `datetime` (`YYYYMMDDTHHMMSSZ`) is for tests.
   */
  async sign(method: string, url: string, headers: Headers, datetime?: string): Promise<Headers> {
    const at = datetime ?? new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    const day = at.slice(0, 8);
    const { host, pathname, searchParams } = new URL(url);
    const out = new Headers(headers);
    out.delete("host");
    if (!out.has("x-amz-content-sha256")) out.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    out.set("x-amz-date", at);
    const signed = ["host", ...out.keys()].filter((h) => !UNSIGNABLE.has(h)).sort();
    const canonicalHeaders = signed
      .map((h) => `${h}:${h === "host" ? host : (out.get(h) ?? "").replace(/\s+/g, " ")}`)
      .join("\n");
    const signedHeaders = signed.join(";");
    const canonical = [
      method.toUpperCase(),
      canonicalPath(pathname),
      canonicalQuery(searchParams),
      `${canonicalHeaders}\n`,
      signedHeaders,
      out.get("x-amz-content-sha256"),
    ].join("\n");
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const [digest, key] = await Promise.all([
      crypto.subtle.digest("SHA-256", encoder.encode(canonical)),
      this.keyFor(day),
    ]);
    const toSign = `AWS4-HMAC-SHA256\n${at}\n${scope}\n${hex(digest)}`;
    const signature = hex(await crypto.subtle.sign("HMAC", key, encoder.encode(toSign)));
    out.set(
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, ` +
        `Signature=${signature}`,
    );
    return out;
  }
}
