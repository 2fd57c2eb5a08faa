// Sections 6 (cost per request, bench/cost.mjs) and 7 (closure substitution, bench/closure.mjs) of the benchmark
// suite. bench/run.mjs runs them after the first five on a full or smoke run, or alone with `--cost` and/or
// `--closure` (the tables are then printed, not written to bench/RESULTS.md).
import { benchClosure, renderClosure } from "./closure.mjs";
import { benchCost, renderCost, trafficFromArgs } from "./cost.mjs";
import { say } from "./lib/util.mjs";
import { wrapProse } from "../scripts/line-width.mjs";

/** Which extra sections `argv` asks for: both on a normal run; with --cost/--closure only those, and only them. */
export function extraSelection(argv) {
  const cost = argv.includes("--cost");
  const closure = argv.includes("--closure");
  const only = cost || closure;
  return { only, cost: cost || !only, closure: closure || !only, traffic: trafficFromArgs(argv) };
}

/** ctx: { dir, s3, bucket, cacheWorker, proxyWorker, keys, lib, smoke }. Returns the results to merge. */
export async function runExtra(selection, ctx) {
  const out = { traffic: selection.traffic };
  if (selection.cost) {
    const t = Date.now();
    say("7. cost per request");
    out.cost = await benchCost(ctx);
    say(`8. took ${Math.round((Date.now() - t) / 1000)} s`);
  }
  if (selection.closure) {
    const t = Date.now();
    say("8. closure substitution");
    out.closure = await benchClosure(ctx);
    say(`8. took ${Math.round((Date.now() - t) / 1000)} s`);
  }
  return out;
}

/** The markdown of whichever extra sections `r` holds (r.cost, r.closure), for bench/RESULTS.md. */
export function renderExtra(r) {
  const parts = [];
  if (r.cost) parts.push(renderCost(r.cost, r.traffic, { smoke: r.smoke }));
  if (r.closure) parts.push(renderClosure(r.closure, { smoke: r.smoke }));
  return wrapProse(parts.join("\n"));
}
