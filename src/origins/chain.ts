/**
 * The ordered origin chain: each origin is asked in turn until one has the object. An origin that fails moves the
 * request on too, and only when no origin had it and at least one failed does the client get a retryable error;
 * when every origin answered "absent" the answer is 404 (docs/protocol.md, "Status codes").
 */
import { log } from "../log";
import type { CircuitBreaker } from "./breaker";
import type { FetchOptions, Origin, OriginObject } from "./origin";

export interface ChainLink {
  origin: Origin;
  breaker: CircuitBreaker;
  /** Set on R2 origins with `backfill = true`: objects found further down are written here. */
  backfill?: R2Bucket;
}

export interface Attempt {
  origin: string;
  outcome: "found" | "absent" | "rejected" | "failed" | "skipped" | "unsatisfiable";
  ms: number;
  detail?: string;
}

/** Checks a found object (a narinfo's signature, say); a rejected object counts as absent from that origin. */
export type Acceptor<T> = (object: OriginObject, origin: Origin) => Promise<{ ok: true; value: T } | { ok: false; reason: string }>;

export type ChainResult<T> =
  | { kind: "found"; index: number; origin: Origin; object: OriginObject; value: T; attempts: Attempt[] }
  | { kind: "absent"; attempts: Attempt[] }
  | { kind: "unsatisfiable"; size?: number; attempts: Attempt[] }
  | { kind: "failed"; timeout: boolean; attempts: Attempt[] };

export async function fetchFromOrigins<T = undefined>(
  chain: readonly ChainLink[],
  key: string,
  options: FetchOptions,
  accept?: Acceptor<T>,
): Promise<ChainResult<T>> {
  const attempts: Attempt[] = [];
  let failed = false;
  let timeout = false;
  for (const [index, link] of chain.entries()) {
    const { origin, breaker } = link;
    if (!breaker.allow()) {
      attempts.push({ origin: origin.name, outcome: "skipped", ms: 0, detail: "circuit open" });
      failed = true;
      continue;
    }
    const started = Date.now();
    const answer = await origin.fetch(key, options);
    const ms = Date.now() - started;
    if (answer.kind === "failed") {
      breaker.failure();
      failed = true;
      timeout ||= answer.timeout;
      attempts.push({ origin: origin.name, outcome: "failed", ms, detail: answer.reason });
      log("warn", "origin-failed", { origin: origin.name, key, reason: answer.reason, ms });
      continue;
    }
    breaker.success();
    if (answer.kind === "absent") {
      attempts.push({ origin: origin.name, outcome: "absent", ms, detail: String(answer.status) });
      continue;
    }
    if (answer.kind === "unsatisfiable") {
      attempts.push({ origin: origin.name, outcome: "unsatisfiable", ms });
      return { kind: "unsatisfiable", size: answer.size, attempts };
    }
    if (accept) {
      const verdict = await accept(answer.object, origin);
      if (!verdict.ok) {
        attempts.push({ origin: origin.name, outcome: "rejected", ms: Date.now() - started, detail: verdict.reason });
        log("error", "origin-object-rejected", { origin: origin.name, key, reason: verdict.reason });
        continue;
      }
      attempts.push({ origin: origin.name, outcome: "found", ms: Date.now() - started });
      return { kind: "found", index, origin, object: answer.object, value: verdict.value, attempts };
    }
    attempts.push({ origin: origin.name, outcome: "found", ms });
    return { kind: "found", index, origin, object: answer.object, value: undefined as T, attempts };
  }
  return failed ? { kind: "failed", timeout, attempts } : { kind: "absent", attempts };
}

/** The R2 buckets ahead of `index` in the chain that want a copy of what was found there. */
export function backfillTargets(chain: readonly ChainLink[], index: number): R2Bucket[] {
  return chain.slice(0, index).flatMap((link) => (link.backfill ? [link.backfill] : []));
}
