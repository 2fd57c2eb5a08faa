/**
 * Writes the request's data point (dataPoint.ts) without ever delaying or failing the response.
 *
 * Cost model (docs/observability.md, "What is measured"):
 * - A request not drawn by METRICS_SAMPLE_RATE is returned untouched: no wrapper, no clone, no write.
 * - A sampled 200/206 of a file route (NARs, listings, logs, ...) is streamed through one pull-based counter (one
 *   JavaScript step per chunk, as in src/nar/verifyingStream.ts) that notes the first byte's time, counts bytes
 *   and sees the end or the cut; the point is written then, after the NAR's hash check has had its say. With a
 *   Content-Length the counted stream is given that length again (withKnownLength), because workerd sends any
 *   other stream body chunked.
 * - Every other sampled answer (narinfos, cached or built here, errors, nix-cache-info, the landing page, health)
 *   is small by construction (narinfos are read through a 1 MiB bound): a clone is read in the background to count
 *   its bytes, and the original is sent as it was, Content-Length included. Time to first byte is then the time to
 *   the headers.
 * writeDataPoint itself is synchronous and buffered by the runtime; any exception from it is caught and logged.
 */
import { log } from "../log";
import { withKnownLength } from "../streams/pipes";
import { toAnalyticsEngine, type RequestDataPoint } from "./dataPoint";
import type { RequestFacts } from "./facts";

interface MetricsEnv {
  /** Analytics Engine dataset (wrangler.toml `[[analytics_engine_datasets]]`); no binding, no metrics. */
  METRICS?: AnalyticsEngineDataset;
  /** Share of requests that write a data point, 0..1 (default 1). */
  METRICS_SAMPLE_RATE?: string | number;
}

const FILE_ROUTES = new Set(["nar", "listing", "log", "realisation", "build-trace", "debuginfo"]);

const rates = new WeakMap<object, number>();

/** METRICS_SAMPLE_RATE, parsed once per env. A bad value must not cost the cache its answers: logged, then 1. */
function sampleRate(env: MetricsEnv): number {
  const cached = rates.get(env);
  if (cached !== undefined) return cached;
  const raw = env.METRICS_SAMPLE_RATE;
  let rate = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    log("error", "metrics-misconfigured", { detail: "METRICS_SAMPLE_RATE must be a number from 0 to 1; using 1" });
    rate = 1;
  }
  rates.set(env, rate);
  return rate;
}

/**
 * The length of the body about to be sent. A 206's comes from its Content-Range: a range served from the edge
 * cache carries the whole object's Content-Length, which workerd drops for a stream body anyway.
 */
function bodyLength(response: Response): number | undefined {
  if (response.status === 206) {
    const m = /^bytes (\d+)-(\d+)\//.exec(response.headers.get("content-range") ?? "");
    return m ? Number(m[2]) - Number(m[1]) + 1 : undefined;
  }
  const value = response.headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

interface Metered {
  request: Request;
  response: Response;
  env: MetricsEnv;
  ctx: ExecutionContext;
  /** Date.now() when the request arrived. */
  started: number;
  facts: RequestFacts;
  /** For tests: the sampling draw (default Math.random). */
  random?: () => number;
}

export function meterResponse(m: Metered): Response {
  const { response, env, started, facts } = m;
  const dataset = env.METRICS;
  if (!dataset || typeof dataset.writeDataPoint !== "function") return response;
  const rate = sampleRate(env);
  if (rate === 0 || (m.random ?? Math.random)() >= rate) return response;

  const cacheStatus = response.headers.get("x-cache-status") ?? "NONE";
  const route = facts.route ?? "unknown";
  const origin = facts.origin?.name ?? (cacheStatus === "HIT" ? "edge" : "none");
  const colo = (m.request.cf as { colo?: unknown } | undefined)?.colo;
  const write = (transfer: RequestDataPoint["transfer"], bytes: number, firstByteAt: number): void => {
    const now = Date.now();
    const point: RequestDataPoint = {
      route,
      cacheStatus,
      status: response.status,
      origin,
      originIndex: facts.origin?.index ?? -1,
      verification: facts.verification,
      rejectedBy: facts.rejectedBy ?? "",
      colo: typeof colo === "string" ? colo : "unknown",
      method: m.request.method,
      transfer,
      bytes,
      ttfbMs: firstByteAt - started,
      totalMs: now - started,
      weight: 1 / rate,
    };
    try {
      dataset.writeDataPoint(toAnalyticsEngine(point));
    } catch (e) {
      log("warn", "metrics-write-failed", { error: String(e) });
    }
  };

  const body = response.body;
  if (!body) {
    write("empty", 0, Date.now());
    return response;
  }
  const headersAt = Date.now();
  if (!FILE_ROUTES.has(route) || (response.status !== 200 && response.status !== 206)) {
    m.ctx.waitUntil(
      response
        .clone()
        .arrayBuffer()
        .then(
          (bytes) => write("complete", bytes.byteLength, headersAt),
          () => write("cut", 0, headersAt),
        ),
    );
    return response;
  }

  const length = bodyLength(response);
  const reader = body.getReader();
  let bytes = 0;
  let firstByteAt: number | undefined;
  let finished = false;
  const finish = (transfer: RequestDataPoint["transfer"]) => {
    if (finished) return;
    finished = true;
    write(transfer, bytes, firstByteAt ?? Date.now());
  };
  const counted = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        finish("cut");
        throw e;
      }
      if (chunk.done) {
        finish(length === undefined || bytes === length ? "complete" : "cut");
        controller.close();
        return;
      }
      firstByteAt ??= Date.now();
      bytes += chunk.value.byteLength;
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      finish("cut");
      return reader.cancel(reason);
    },
  });
  return new Response(withKnownLength(counted, length), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    // The handlers set Content-Encoding only on bodies stored encoded (src/serve/file.ts): never encode again.
    encodeBody: "manual",
  });
}
