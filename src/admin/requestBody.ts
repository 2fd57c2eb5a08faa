/** The JSON body of an admin call, parsed once at the boundary with a bounded read. */
import type { AdminError } from "./errors";

/** Bodies name at most MAX_TARGETS paths; 64 KiB is far above that and far below anything worth buffering. */
export const MAX_BODY_BYTES = 64 * 1024;

export type BodyResult = { ok: true; value: Record<string, unknown> } | { ok: false; error: AdminError };

export async function readJsonObject(request: Request): Promise<BodyResult> {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > MAX_BODY_BYTES) {
    return { ok: false, error: { kind: "payload-too-large", limit: MAX_BODY_BYTES } };
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) return { ok: false, error: { kind: "payload-too-large", limit: MAX_BODY_BYTES } };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return { ok: false, error: { kind: "bad-request", detail: "body is not valid JSON" } };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: { kind: "bad-request", detail: "body must be a JSON object" } };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

export function optionalBoolean(body: Record<string, unknown>, field: string): { ok: true; value: boolean } | { ok: false; error: AdminError } {
  const v = body[field];
  if (v === undefined) return { ok: true, value: false };
  if (typeof v !== "boolean") return { ok: false, error: { kind: "bad-request", detail: `"${field}" must be true or false` } };
  return { ok: true, value: v };
}

/** Fields a route does not know are refused: a typo such as "dryrun" must not turn a dry run into the real thing. */
export function unknownFields(body: Record<string, unknown>, known: readonly string[]): AdminError | undefined {
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  return extra.length > 0 ? { kind: "bad-request", detail: `unknown field(s): ${extra.join(", ")} (allowed: ${known.join(", ")})` } : undefined;
}
