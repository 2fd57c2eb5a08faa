import { beforeEach, describe, expect, it } from "vitest";
import { parseSecretKey } from "../../src/narinfo/keys";
import { formatNarinfo, parseNarinfo } from "../../src/narinfo/narinfo";
import { signNarinfo } from "../../src/narinfo/signature";
import { bytesOf, call, callStreaming, fixtureBytes, fixturePath, fixtureText, seedR2, testEnv } from "./harness";
import { bucket, emptyBucket } from "./harness";

beforeEach(() => emptyBucket(bucket()));
const testSecretKey = () => parseSecretKey(fixtureText("keys/cache-test-1.sk").trim());

async function generateKeyPair(name: string): Promise<{ secret: string; public: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const pub = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const seed = pkcs8.slice(-32);
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  const sk = new Uint8Array(64);
  sk.set(seed);
  sk.set(pub, 32);
  return { secret: `${name}:${b64(sk)}`, public: `${name}:${b64(pub)}` };
}

describe("narinfo signatures (fail closed)", () => {
  it("a narinfo whose fields were changed after signing is absent and not cached", async () => {
    const app = fixturePath("feas-app");
    const forged = fixtureText(app.xz.narinfoPath).replace(/NarSize: \d+/, "NarSize: 4242");
    await bucket().put(`${app.hashPart}.narinfo`, forged);
    const env = testEnv({ NEGATIVE_TTL: "0" });
    const first = await call(env, `/${app.hashPart}.narinfo`);
    expect(first.status).toBe(404);
    // The forged copy must not have been cached: once the origin holds the genuine one, it is served.
    await seedR2(bucket());
    const again = await call(env, `/${app.hashPart}.narinfo`);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(fixtureText(app.xz.narinfoPath));
  });

  it("an unsigned narinfo is absent", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(`${app.hashPart}.narinfo`, fixtureText(app.xz.narinfoPath).replace(/^Sig: .*\n/m, ""));
    expect((await call(testEnv(), `/${app.hashPart}.narinfo`)).status).toBe(404);
  });

  it("a narinfo signed by an untrusted key is absent", async () => {
    const app = fixturePath("feas-app");
    await seedR2(bucket());
    const other = await generateKeyPair("other-1");
    expect((await call(testEnv({ TRUSTED_PUBLIC_KEYS: other.public }), `/${app.hashPart}.narinfo`)).status).toBe(404);
  });

  it("a validly signed narinfo for another store path is refused", async () => {
    const app = fixturePath("feas-app");
    const dep = fixturePath("feas-dep");
    // dep's genuine, signed narinfo placed under app's hash.
    await bucket().put(`${app.hashPart}.narinfo`, fixtureText(dep.xz.narinfoPath));
    expect((await call(testEnv(), `/${app.hashPart}.narinfo`)).status).toBe(404);
  });

  it("a forged narinfo in the first origin falls through to a good one in the next (stub upstream)", async () => {
    const app = fixturePath("feas-app");
    await bucket().put(`${app.hashPart}.narinfo`, fixtureText(app.xz.narinfoPath).replace("feas-dep", "feas-evil"));
    const { stubOrigins, fixtureUpstream } = await import("./harness");
    stubOrigins(fixtureUpstream("xz"));
    const env = testEnv({
      ORIGINS: [
        { type: "r2", binding: "NAR_BUCKET" },
        { type: "http", url: "http://upstream.stub" },
      ],
    });
    const res = await call(env, `/${app.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(fixtureText(app.xz.narinfoPath));
  });

  it("trusts any of several keys", async () => {
    await seedR2(bucket());
    const other = await generateKeyPair("other-1");
    const app = fixturePath("feas-app");
    const env = testEnv({ TRUSTED_PUBLIC_KEYS: `${other.public}  ${fixtureText("keys/cache-test-1.pk").trim()}` });
    expect((await call(env, `/${app.hashPart}.narinfo`)).status).toBe(200);
  });

  it("with SIGNING_KEY, served narinfos carry that key's signature as well", async () => {
    await seedR2(bucket());
    const ours = await generateKeyPair("edge-1");
    const app = fixturePath("feas-app");
    const res = await call(testEnv({ SIGNING_KEY: ours.secret }), `/${app.hashPart}.narinfo`);
    const served = parseNarinfo(await res.text());
    expect(served.sigs).toHaveLength(2);
    expect(served.sigs[0]).toBe(app.sig);
    expect(served.sigs[1]).toMatch(/^edge-1:/);
    // The added signature verifies with the new key alone: clients can move to it (key rotation).
    const { verifyNarinfo } = await import("../../src/narinfo/signature");
    const { parsePublicKey } = await import("../../src/narinfo/keys");
    expect(await verifyNarinfo(served, [parsePublicKey(ours.public)])).toMatchObject({
      valid: true,
      keyName: "edge-1",
    });
  });

  it("a narinfo re-signed with the fixtures' key after a change is served (signature checked, not bytes)", async () => {
    const app = fixturePath("feas-app");
    const original = parseNarinfo(fixtureText(app.xz.narinfoPath));
    const changed = { ...original, deriver: "unknown-deriver" };
    const sig = await signNarinfo(changed, testSecretKey());
    await bucket().put(`${app.hashPart}.narinfo`, formatNarinfo({ ...changed, sigs: [sig] }));
    const res = await call(testEnv(), `/${app.hashPart}.narinfo`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Deriver: unknown-deriver\n");
  });
});

describe("NAR integrity (hash checked as it streams)", () => {
  it("over VERIFY_BEFORE_SEND_MAX_BYTES, a NAR not matching its URL is cut; the next request is right", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    const bad = good.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    await bucket().put(app.xz.url, bad);
    // 0 sends every NAR down the streaming path (hold back the last chunk, cut on mismatch).
    const env = testEnv({ VERIFY_BEFORE_SEND_MAX_BYTES: "0" });
    const { response, body, settled } = await callStreaming(env, `/${app.xz.url}`);
    // The status line went out before the last byte could be checked; the body must then fail, not complete.
    expect(response.status).toBe(200);
    await expect(body).rejects.toThrow();
    await settled();
    // The edge copy was deleted before the client's stream failed: the next request is a MISS, never a broken HIT.
    await bucket().put(app.xz.url, good);
    const again = await call(env, `/${app.xz.url}`);
    expect(again.headers.get("x-cache-status")).toBe("MISS");
    expect(await bytesOf(again)).toEqual(good);
  });

  it("over VERIFY_BEFORE_SEND_MAX_BYTES, a NAR shorter than its Content-Length is cut, not cached (stub)", async () => {
    const app = fixturePath("feas-app");
    const good = fixtureBytes(app.xz.narPath);
    const { stubOrigins } = await import("./harness");
    stubOrigins(() => {
      // Sends 100 bytes and closes, a moment after the headers, as a connection that drops would.
      const stream = new ReadableStream<Uint8Array>({
        async start(c) {
          await scheduler.wait(20);
          c.enqueue(good.slice(0, 100));
          c.close();
        },
        cancel() {},
      });
      return new Response(stream, { headers: { "content-length": String(good.byteLength) } });
    });
    const env = testEnv({
      ORIGINS: [{ type: "http", url: "http://truncating.stub" }],
      VERIFY_BEFORE_SEND_MAX_BYTES: "0",
    });
    const { body, settled } = await callStreaming(env, `/${app.xz.url}`);
    await expect(body).rejects.toThrow();
    await settled();
    stubOrigins(() => new Response(good, { headers: { "content-length": String(good.byteLength) } }));
    const again = await call(env, `/${app.xz.url}`);
    expect(again.headers.get("x-cache-status")).toBe("MISS");
    expect(await bytesOf(again)).toEqual(good);
  });

  it("objects over EDGE_CACHE_MAX_BYTES stream through uncached (BYPASS), still checked", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const env = testEnv({ EDGE_CACHE_MAX_BYTES: "100" });
    for (let i = 0; i < 2; i++) {
      const res = await call(env, `/${app.xz.url}`);
      expect(res.headers.get("x-cache-status")).toBe("BYPASS");
      expect(await bytesOf(res)).toEqual(fixtureBytes(app.xz.narPath));
    }
  });

  it("a good NAR is cached and the second request is a HIT", async () => {
    await seedR2(bucket());
    const app = fixturePath("feas-app");
    const env = testEnv();
    const first = await call(env, `/${app.xz.url}`);
    expect(first.headers.get("x-cache-status")).toBe("MISS");
    const second = await call(env, `/${app.xz.url}`);
    expect(second.headers.get("x-cache-status")).toBe("HIT");
    expect(await bytesOf(second)).toEqual(fixtureBytes(app.xz.narPath));
  });
});
