/**
 * Every failure the cache worker can answer with, as a value. `errorResponse` maps each kind to a status in one
 * exhaustive switch, so adding a kind forces a decision about what Nix will make of it (docs/protocol.md,
 * "Status codes"): 404/410 mean absent, 5xx is retried, other 4xx are hard errors.
 */
export type CacheError =
  | { kind: "bad-request"; detail: string }
  | { kind: "not-found"; detail?: string }
  | { kind: "blocked"; detail: string }
  /** No copy of the denylist could be had (docs/admin.md, "The block model"): fail closed, retryable. */
  | { kind: "denylist-unavailable" }
  | { kind: "method-not-allowed"; method: string }
  | { kind: "range-not-satisfiable"; size: number }
  | { kind: "origin-unavailable"; detail: string }
  | { kind: "origin-timeout"; detail: string }
  | { kind: "misconfigured"; detail: string }
  | { kind: "internal"; detail: string };

function statusOf(error: CacheError): number {
  switch (error.kind) {
    case "bad-request":
      return 400;
    case "not-found":
      return 404;
    case "blocked":
      // 410 is "absent" to every Nix version, so a blocked path falls through to the next substituter or a build.
      return 410;
    case "method-not-allowed":
      return 405;
    case "range-not-satisfiable":
      return 416;
    case "origin-unavailable":
      // Nix retries 502 with backoff; a 404 here would make clients rebuild what the cache really has.
      return 502;
    case "origin-timeout":
      return 504;
    case "denylist-unavailable":
      return 503;
    case "misconfigured":
    case "internal":
      return 500;
    default:
      return assertNever(error);
  }
}

const PHRASES: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  410: "Gone",
  416: "Range Not Satisfiable",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The wire gets the status and a short phrase (plus the reason for a 400); details go to the log only. */
export function errorResponse(error: CacheError, extraHeaders?: HeadersInit): Response {
  const status = statusOf(error);
  const headers = new Headers(extraHeaders);
  headers.set("content-type", "text/plain; charset=utf-8");
  headers.set("cache-control", "no-store");
  if (error.kind === "method-not-allowed") headers.set("allow", "GET, HEAD");
  if (error.kind === "range-not-satisfiable") headers.set("content-range", `bytes */${error.size}`);
  if (status >= 500) headers.set("retry-after", "1");
  const phrase = PHRASES[status] ?? "Error";
  const body = error.kind === "bad-request" ? `${phrase}: ${error.detail}\n` : `${phrase}\n`;
  return new Response(body, { status, headers });
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
