/**
 * An S3 bucket, reached with SigV4 (aws4fetch) the way cache.nixos.org's CDN reaches `nix-cache`:
 * Requester Pays, query strings never forwarded, 403 read as "absent" (S3 answers 403 for a missing key when the
 * caller may not list the bucket).
 */
import { AwsClient, AwsV4Signer } from "aws4fetch";
import { fetchHttpObject, s3ErrorCode } from "./httpObject";
import { encodeObjectPath } from "../routing/objectPath";
import type { FetchOptions, Origin, OriginAnswer } from "./origin";
import type { Timeouts } from "./timeouts";

/**
 * S3 answers 403 AccessDenied for a missing key when the caller may not list the bucket, and 404 NoSuchKey when it
 * may: both are "absent". Every other error code (SignatureDoesNotMatch, InvalidAccessKeyId, NoSuchBucket,
 * RequestTimeTooSkewed, …) is a broken origin, which must fail loudly and let the next origin answer rather than
 * pass for an empty bucket. A HEAD has no error body: its 403/404 can only be read as absent.
 */
const ABSENT_CODES = new Set(["AccessDenied", "NoSuchKey"]);

export function s3IsAbsent(status: number, errorBody: string): boolean {
  if (status !== 403 && status !== 404 && status !== 410) return false;
  const code = s3ErrorCode(errorBody);
  return code === undefined || ABSENT_CODES.has(code);
}

export interface S3Location {
  /** Path-style endpoint for S3-compatible servers; without it, AWS's virtual-hosted endpoint for the region. */
  endpoint?: string;
  bucket: string;
  region: string;
  requesterPays: boolean;
}

export function s3ObjectUrl(location: S3Location, key: string): string {
  const path = encodeObjectPath(key);
  if (location.endpoint)
    return `${location.endpoint.replace(/\/+$/, "")}/${encodeURIComponent(location.bucket)}/${path}`;
  return `https://${location.bucket}.s3.${location.region}.amazonaws.com/${path}`;
}

export class S3Origin implements Origin {
  readonly type = "s3";
  /** SigV4 signing keys derived from the secret, by day: derived once per day and isolate, not per request. */
  private readonly signingKeys = new Map<string, ArrayBuffer>();

  constructor(
    readonly name: string,
    private readonly location: S3Location,
    private readonly credentials: { accessKeyId: string; secretAccessKey: string },
    private readonly timeouts: Timeouts,
  ) {}

  /**
   * The headers of a signed read. Signed with aws4fetch's signer on the bare method, URL and headers, not through
   * `AwsClient.sign(request)`: that rebuilds the Request from those three alone and drops its abort signal, which
   * left a hung S3 request outside the first-byte timeout.
   */
  private async sign(url: string, method: string, headers: Headers): Promise<Headers> {
    const signer = new AwsV4Signer({
      ...this.credentials,
      url,
      method,
      headers,
      service: "s3",
      region: this.location.region,
      cache: this.signingKeys,
    });
    return (await signer.sign()).headers;
  }

  private payerHeaders(): Record<string, string> {
    // Signed in, as the CDN does (signed headers host;x-amz-content-sha256;x-amz-date;x-amz-request-payer).
    return this.location.requesterPays ? { "x-amz-request-payer": "requester" } : {};
  }

  /**
   * Deletes objects (the admin worker's POST /v1/delete); returns one line per key that could not be deleted.
   * Unlike reads, a delete is retried (aws4fetch: 5xx and 429, twice): it is rare, and an admin waits for it.
   */
  async deleteObjects(keys: readonly string[]): Promise<string[]> {
    const client = new AwsClient({ ...this.credentials, service: "s3", region: this.location.region, retries: 2 });
    const failures: string[] = [];
    for (const key of keys) {
      try {
        const response = await client.fetch(s3ObjectUrl(this.location, key), {
          method: "DELETE",
          headers: this.payerHeaders(),
        });
        await response.body?.cancel();
        // S3 answers 204 whether or not the key existed.
        if (!response.ok) failures.push(`${key}: HTTP ${response.status}`);
      } catch (e) {
        failures.push(`${key}: ${String(e)}`);
      }
    }
    return failures;
  }

  fetch(key: string, options: FetchOptions): Promise<OriginAnswer> {
    return fetchHttpObject({
      origin: this.name,
      url: s3ObjectUrl(this.location, key),
      options,
      timeouts: this.timeouts,
      isAbsent: s3IsAbsent,
      readErrorBody: true,
      headers: this.payerHeaders(),
      sign: (url, method, headers) => this.sign(url, method, headers),
    });
  }
}
