/**
 * The ordered origin chain: each origin is asked in turn until one has the object. An origin that fails moves the
 * request on too, and only when no origin had it and at least one failed does the client get a retryable error;
 * when every origin answered "absent" the answer is 404 (docs/protocol.md, "Status codes").
 */
import { log } from "../log";
import type { CircuitBreaker } from "./breaker";
import { OriginTimeout, type FetchOptions, type Origin, type OriginObject } from "./origin";

export interface ChainLink {
  origin: Origin;
  breaker: CircuitBreaker;
  /** Set on R2 origins with `backfill = true`: objects found further down are written here. */
  backfill?: R2Bucket;
  /**
   * Whether a NAR's name says its file hash in this origin (`nar/<nix32 sha256 of the file>.nar.<ext>`, as Nix
   * writes buckets), so the worker checks it; "opaque" origins (ncps, nix-casync: named by NarHash) are not checked.
   */
  narNames: "file-hash" | "opaque";
  /** Whether files the worker could not verify may be copied from this origin into a backfilled R2 bucket. */
  trusted: boolean;
  /**
   * Files this origin served corrupt lately (key → until when, ms), so that the client's retry skips it in this
   * isolate; other isolates see the Cache API marker (src/edge/edgeCache.ts). Lives beside the breaker: both are
   * per-isolate knowledge about one origin.
   */
  corrupt: Map<string, number>;
}

export interface Attempt {
  origin: string;
  outcome: "found" | "absent" | "rejected" | "failed" | "skipped" | "unsatisfiable";
  ms: number;
  detail?: string;
  timeout?: boolean;
}

/**
 * Checks a found object (a narinfo's signature, a small NAR's hash). A rejected object counts as absent from that
 * origin; `failed` makes it a failed origin instead (a corrupt copy, an answer that does not fit the request),
 * counted by its breaker. An error thrown while reading the body (a stall, a broken connection) is a failed
 * origin too.
 */
export type Acceptor<T> = (
  object: OriginObject,
  origin: Origin,
) => Promise<{ ok: true; value: T } | { ok: false; reason: string; failed?: boolean }>;

type ChainResult<T> =
  | { kind: "found"; index: number; origin: Origin; object: OriginObject; value: T; attempts: Attempt[] }
  | { kind: "absent"; attempts: Attempt[] }
  | { kind: "unsatisfiable"; size?: number; attempts: Attempt[] }
  | { kind: "failed"; timeout: boolean; attempts: Attempt[] };

/** Why an origin should be asked last for this key (it served it corrupt a moment ago), or undefined. */
type DemoteOrigin = (link: ChainLink) => string | undefined;

export async function fetchFromOrigins<T = undefined>(
  chain: readonly ChainLink[],
  key: string,
  options: FetchOptions,
  accept?: Acceptor<T>,
  demote?: DemoteOrigin,
): Promise<ChainResult<T>> {
  const attempts: Attempt[] = [];
  const failedAttempt = (link: ChainLink, attempt: Attempt) => {
    link.breaker.failure();
    attempts.push(attempt);
    log("warn", "origin-failed", { origin: attempt.origin, key, reason: attempt.detail, ms: attempt.ms });
  };
  const entries = [...chain.entries()];
  const demoted = new Set(demote ? entries.filter(([, link]) => demote(link) !== undefined).map(([i]) => i) : []);
  const order = [...entries.filter(([i]) => !demoted.has(i)), ...entries.filter(([i]) => demoted.has(i))];
  for (const [index, link] of order) {
    const { origin, breaker } = link;
    if (!breaker.allow()) {
      attempts.push({ origin: origin.name, outcome: "skipped", ms: 0, detail: "circuit open" });
      continue;
    }
    const started = Date.now();
    const answer = await origin.fetch(key, options);
    const ms = Date.now() - started;
    if (answer.kind === "failed") {
      failedAttempt(link, {
        origin: origin.name,
        outcome: "failed",
        ms,
        detail: answer.reason,
        timeout: answer.timeout,
      });
      continue;
    }
    if (answer.kind === "absent") {
      breaker.success();
      attempts.push({ origin: origin.name, outcome: "absent", ms, detail: String(answer.status) });
      continue;
    }
    if (answer.kind === "unsatisfiable") {
      breaker.success();
      attempts.push({ origin: origin.name, outcome: "unsatisfiable", ms });
      return { kind: "unsatisfiable", size: answer.size, attempts };
    }
    if (!accept) {
      // The body is read later (src/streams/fanOut.ts), which reports a broken body to this breaker.
      breaker.success();
      attempts.push({ origin: origin.name, outcome: "found", ms });
      return { kind: "found", index, origin, object: answer.object, value: undefined as T, attempts };
    }
    let verdict: Awaited<ReturnType<Acceptor<T>>>;
    try {
      verdict = await accept(answer.object, origin);
    } catch (e) {
      // The body broke or stalled after the headers: the origin failed, and the next one may have the object.
      void answer.object.body?.cancel(e).catch(() => undefined);
      const timeout = e instanceof OriginTimeout;
      failedAttempt(link, {
        origin: origin.name,
        outcome: "failed",
        ms: Date.now() - started,
        detail: `body: ${String(e)}`,
        timeout,
      });
      continue;
    }
    if (!verdict.ok) {
      void answer.object.body?.cancel().catch(() => undefined);
      if (verdict.failed) {
        failedAttempt(link, {
          origin: origin.name,
          outcome: "failed",
          ms: Date.now() - started,
          detail: verdict.reason,
        });
        continue;
      }
      breaker.success();
      attempts.push({ origin: origin.name, outcome: "rejected", ms: Date.now() - started, detail: verdict.reason });
      log("error", "origin-object-rejected", { origin: origin.name, key, reason: verdict.reason });
      continue;
    }
    breaker.success();
    attempts.push({ origin: origin.name, outcome: "found", ms: Date.now() - started });
    return { kind: "found", index, origin, object: answer.object, value: verdict.value, attempts };
  }
  const failures = attempts.filter((a) => a.outcome === "failed" || a.outcome === "skipped");
  if (failures.length === 0) return { kind: "absent", attempts };
  // 504 only when every origin asked timed out: one that answered (even absent) makes it a plain 502.
  const asked = attempts.filter((a) => a.outcome !== "skipped");
  const timeout = asked.length > 0 && asked.every((a) => a.timeout === true);
  return { kind: "failed", timeout, attempts };
}

/** The R2 buckets ahead of `index` in the chain that want a copy of what was found there. */
export function backfillTargets(chain: readonly ChainLink[], index: number): R2Bucket[] {
  return chain.slice(0, index).flatMap((link) => (link.backfill ? [link.backfill] : []));
}
