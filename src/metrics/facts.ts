/**
 * What the handlers learn about one request that the response itself does not say: which origin answered and how
 * its object fared in the checks. Collected on the RequestContext at the few points where each fact becomes known
 * and read once, when the request's data point is written (docs/observability.md).
 */

/**
 * The outcome of the checks of docs/request-flow.md for what this request served or refused:
 * - `ok`: a narinfo whose signature verified, or a NAR whose sha256 matched its URL;
 * - `forged`: a narinfo whose signature does not match its fields, or that does not parse;
 * - `unsigned`: a narinfo with no signature by a trusted key;
 * - `wrong-path`: a narinfo whose StorePath is not the requested hash;
 * - `corrupt-nar`: a NAR (from an origin or the edge cache) whose bytes did not match;
 * - `unverifiable`: an object served with nothing to check it against (a NAR URL naming no sha256, listings, logs);
 * - `none`: nothing was checked (static answers, errors, cached narinfos, ranges).
 */
export type Verification = "ok" | "forged" | "unsigned" | "wrong-path" | "corrupt-nar" | "unverifiable" | "none";

export interface RequestFacts {
  /** The route kind (routes.ts), or `invalid` / `unknown` for paths that are not part of the protocol. */
  route?: string;
  /** The origin that answered a miss: its position in ORIGINS and its configured name. */
  origin?: { index: number; name: string };
  verification: Verification;
  /** The origin whose object failed a check, when one did (another origin may still have answered). */
  rejectedBy?: string;
}

export function newFacts(): RequestFacts {
  return { verification: "none" };
}

export function noteOrigin(facts: RequestFacts | undefined, index: number, name: string): void {
  if (facts) facts.origin = { index, name };
}

/**
 * A failed check is kept even when a later origin passes: a forged narinfo in the first origin is worth an alert
 * although the client was served a good one from the second.
 */
export function noteVerification(facts: RequestFacts | undefined, outcome: Verification, origin?: string): void {
  if (!facts) return;
  const failed = (v: Verification) => v === "forged" || v === "unsigned" || v === "wrong-path" || v === "corrupt-nar";
  if (failed(facts.verification) && !failed(outcome)) return;
  facts.verification = outcome;
  if (failed(outcome)) facts.rejectedBy = origin;
}
