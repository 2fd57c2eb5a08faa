/**
 * The pure narinfo core, timed inside workerd (the runtime it ships in): `GET /?op=<name>&n=<count>` runs the
 * operation n times and answers the elapsed milliseconds. The loop is timed inside the isolate, so the request around
 * it does not count. (Node's Web Crypto is a poor stand-in here: it runs each
 * Ed25519 operation on the libuv thread pool, ~0.3 ms per verify on the reference machine, against ~0.1 ms in
 * workerd, which would drown our own code.)
 */
import { narinfoFingerprint, narinfoFingerprintBytes } from "../../src/narinfo/fingerprint";
import { parsePublicKey, parseSecretKey } from "../../src/narinfo/keys";
import { formatNarinfo, parseNarinfo, type Narinfo } from "../../src/narinfo/narinfo";
import { STORE_DIR } from "../../src/narinfo/storePath";
import { type VerifyResult, parseSignature, signNarinfo, verifyNarinfo } from "../../src/narinfo/signature";

interface Env {
  NARINFO: string;
  PUBLIC_KEY: string;
  SECRET_KEY: string;
}

const ED25519 = { name: "Ed25519" } as const;
let sink: unknown;

async function setup(env: Env) {
  const keys = [parsePublicKey(env.PUBLIC_KEY)];
  const sk = parseSecretKey(env.SECRET_KEY);
  const parsed = parseNarinfo(env.NARINFO);
  const fingerprintBytes = new TextEncoder().encode(narinfoFingerprint(parsed));
  const sig = parseSignature(parsed.sigs[0]!).sig;
  const verifyKey = await crypto.subtle.importKey("raw", keys[0]!.key, ED25519, false, ["verify"]);
  const signKey = await crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array([
      0x30,
      0x2e,
      0x02,
      0x01,
      0x00,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      0x70,
      0x04,
      0x22,
      0x04,
      0x20,
      ...sk.seed,
    ]),
    ED25519,
    false,
    ["sign"],
  );
  const fingerprintBuffer = new Uint8Array(16 * 1024);
  // The runtime's verify replaced, for the length of one call, by a promise already answered `true`: what is left of
  // parse+verify is our code alone (attribution beside the difference below; see the report).
  const answered = Promise.resolve(true);
  const withVerifyStubbed = <T>(f: () => T): T => {
    const subtle = crypto.subtle as { verify: unknown };
    const real = subtle.verify;
    subtle.verify = () => answered;
    try {
      return f();
    } finally {
      subtle.verify = real;
    }
  };
  const unsigned: Narinfo = { ...parsed, sigs: [] };
  // Operations, each one unit of work. The targets are about the first one.
  const ops: Record<string, () => unknown> = {
    // Shaped like the runtime's row below (one call returning the promise the loop awaits), so that the difference of
    // the two holds our code only, not an async function of the harness; the loop checks each result (`checks`).
    "parse+verify": () => verifyNarinfo(parseNarinfo(env.NARINFO), keys),
    "parse+verify (runtime's verify stubbed)": () =>
      withVerifyStubbed(() => verifyNarinfo(parseNarinfo(env.NARINFO), keys)),
    "stub alone (runtime's verify stubbed)": () =>
      withVerifyStubbed(() => crypto.subtle.verify(ED25519, verifyKey, sig, fingerprintBytes)),
    parse: () => parseNarinfo(env.NARINFO),
    // The fingerprint's bytes, as verify writes them (into a buffer of its own here).
    fingerprint: () => narinfoFingerprintBytes(parsed, STORE_DIR, fingerprintBuffer),
    verify: () => verifyNarinfo(parsed, keys),
    "ed25519-verify (runtime)": () => crypto.subtle.verify(ED25519, verifyKey, sig, fingerprintBytes),
    "format+sign": async () => {
      const s = await signNarinfo(unsigned, sk);
      return formatNarinfo({ ...unsigned, sigs: [s] });
    },
    format: () => formatNarinfo(parsed),
    sign: () => signNarinfo(unsigned, sk),
    "ed25519-sign (runtime)": () => crypto.subtle.sign(ED25519, signKey, fingerprintBytes),
  };
  return ops;
}

/** What every result of an operation must be: a verify that does not verify would be measuring something else. */
const checks: Record<string, (result: unknown) => boolean> = {
  "parse+verify": (v) => (v as VerifyResult).valid,
  verify: (v) => (v as VerifyResult).valid,
  "ed25519-verify (runtime)": (v) => v === true,
  "parse+verify (runtime's verify stubbed)": (v) => (v as VerifyResult).valid,
  "stub alone (runtime's verify stubbed)": (v) => v === true,
};

let ops: Promise<Record<string, () => unknown>> | undefined;

async function loop(table: Record<string, () => unknown>, name: string, n: number): Promise<number> {
  const op = table[name]!;
  const check = checks[name];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const r = op();
    sink = r instanceof Promise ? await r : r;
    if (check !== undefined && !check(sink)) throw new Error(`${name}: unexpected result`);
  }
  return performance.now() - started;
}

/**
 * `GET /?a=<op>&b=<op>&n=<count>&slices=<k>`: a difference measured within one request. Both operations run n
 * times, in k alternating slices (a then b, then b then a, ...), so that whatever else the machine does in that
 * moment weighs on both alike; answers the total milliseconds of each.
 */
async function pair(table: Record<string, () => unknown>, a: string, b: string, url: URL): Promise<Response> {
  if (!table[a] || !table[b]) return new Response(`unknown op ${table[a] ? b : a}`, { status: 404 });
  const slices = Number(url.searchParams.get("slices") ?? "10");
  const per = Math.ceil(Number(url.searchParams.get("n") ?? "1") / slices);
  let msA = 0;
  let msB = 0;
  for (let k = 0; k < slices; k++) {
    if (k % 2 === 0) {
      msA += await loop(table, a, per);
      msB += await loop(table, b, per);
    } else {
      msB += await loop(table, b, per);
      msA += await loop(table, a, per);
    }
  }
  return Response.json({ a, b, n: per * slices, msA, msB, result: typeof sink });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    ops ??= setup(env);
    const table = await ops;
    const url = new URL(request.url);
    const name = url.searchParams.get("op");
    const a = url.searchParams.get("a");
    const b = url.searchParams.get("b");
    if (a !== null && b !== null) return pair(table, a, b, url);
    if (!name) return Response.json(Object.keys(table));
    if (!table[name]) return new Response(`unknown op ${name}`, { status: 404 });
    const n = Number(url.searchParams.get("n") ?? "1");
    const ms = await loop(table, name, n);
    // The last result is read (its type is reported) so that the loop's work is never dead code.
    return Response.json({ op: name, n, ms, result: typeof sink });
  },
};
