/** The JSON body of an admin call, parsed once at the boundary: size checked before reading, read bounded. */
import { readBounded } from "../streams/readBounded";
import type { AdminError } from "./errors";

/** Bodies name at most MAX_TARGETS paths or MAX_EVENTS events; 64 KiB is far above that and far below anything worth
 * buffering. */
const MAX_BODY_BYTES = 64 * 1024;

type JsonResult<T> = { ok: true; value: T } | { ok: false; error: AdminError };

/** Refused before reading when Content-Length is too large; otherwise read through a bounded reader. */
export async function readJson(request: Request): Promise<JsonResult<unknown>> {
  const tooLarge = { ok: false as const, error: { kind: "payload-too-large" as const, limit: MAX_BODY_BYTES } };
  const length = request.headers.get("content-length");
  if (length !== null && !(Number(length) <= MAX_BODY_BYTES)) return tooLarge;
  const text = request.body ? await readBounded(request.body, MAX_BODY_BYTES) : "";
  if (text === undefined) return tooLarge;
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: { kind: "bad-request", detail: "body is not valid JSON" } };
  }
}

export async function readJsonObject(request: Request): Promise<JsonResult<Record<string, unknown>>> {
  const body = await readJson(request);
  if (!body.ok) return body;
  const value = body.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: { kind: "bad-request", detail: "body must be a JSON object" } };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

export function optionalBoolean(
  body: Record<string, unknown>,
  field: string,
): { ok: true; value: boolean } | { ok: false; error: AdminError } {
  const v = body[field];
  if (v === undefined) return { ok: true, value: false };
  if (typeof v !== "boolean")
    return { ok: false, error: { kind: "bad-request", detail: `"${field}" must be true or false` } };
  return { ok: true, value: v };
}

/** Fields a route does not know are refused: a typo such as "dryrun" must not turn a dry run into the real thing. */
export function unknownFields(body: Record<string, unknown>, known: readonly string[]): AdminError | undefined {
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  return extra.length > 0
    ? { kind: "bad-request", detail: `unknown field(s): ${extra.join(", ")} (allowed: ${known.join(", ")})` }
    : undefined;
}
