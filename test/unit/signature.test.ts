import { describe, expect, it } from "vitest";
import { base16Encode, base64Encode } from "../../src/narinfo/base64";
import { FormatError } from "../../src/narinfo/errors";
import { parseNixHash } from "../../src/narinfo/hash";
import { type PublicKey, type SecretKey, parsePublicKey, parseSecretKey } from "../../src/narinfo/keys";
import { type Narinfo, formatNarinfo, parseNarinfo, withSignatures } from "../../src/narinfo/narinfo";
import { parseSignature, signNarinfo, verifyNarinfo } from "../../src/narinfo/signature";
import { parseStorePathBaseName } from "../../src/narinfo/storePath";
import {
  CACHE_NIXOS_ORG_KEY,
  CACHE_NIXOS_ORG_NARINFOS,
  NIX_SIGNED_CONTENT_ADDRESSED,
  NIX_SIGNED_WITH_REFERENCE,
  NIX_TEST_PUBLIC_KEY,
  NIX_TEST_SECRET_KEY,
  PROTOCOL_NARINFO,
} from "./nixVectors";

/** A fresh Ed25519 key pair from WebCrypto, in Nix's `name:base64` formats. */
async function generateNixKeyPair(
  name: string,
): Promise<{ sk: SecretKey; pk: PublicKey; skText: string; pkText: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const pub = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const seed = pkcs8.slice(pkcs8.length - 32); // RFC 8410: the seed ends the PrivateKeyInfo
  const skText = `${name}:${base64Encode(new Uint8Array([...seed, ...pub]))}`;
  const pkText = `${name}:${base64Encode(pub)}`;
  return { sk: parseSecretKey(skText), pk: parsePublicKey(pkText), skText, pkText };
}

describe("signatures made by cache.nixos.org", () => {
  const key = parsePublicKey(CACHE_NIXOS_ORG_KEY);
  for (const [hash, text] of Object.entries(CACHE_NIXOS_ORG_NARINFOS)) {
    it(`verify with the real cache.nixos.org key: ${hash}`, async () => {
      expect(await verifyNarinfo(parseNarinfo(text), [key])).toEqual({ valid: true, keyName: "cache.nixos.org-1" });
    });
  }

  it("fail once a signed field changes", async () => {
    const n = parseNarinfo(CACHE_NIXOS_ORG_NARINFOS["n5glp21rsz314qssw9fbvfswgy3kc68f"]!);
    expect(await verifyNarinfo({ ...n, narSize: n.narSize + 1 }, [key])).toEqual({
      valid: false,
      reason: "bad-signature",
    });
  });
});

describe("signatures made by Nix 2.8", () => {
  const pk = parsePublicKey(NIX_TEST_PUBLIC_KEY);
  const sk = parseSecretKey(NIX_TEST_SECRET_KEY);

  for (const [name, text] of [
    ["with a reference", NIX_SIGNED_WITH_REFERENCE],
    ["content-addressed", NIX_SIGNED_CONTENT_ADDRESSED],
  ]) {
    it(`verify, and signNarinfo reproduces Nix's Sig exactly (Ed25519 is deterministic): ${name}`, async () => {
      const n = parseNarinfo(text!);
      expect(await verifyNarinfo(n, [pk])).toEqual({ valid: true, keyName: "edge-test-1" });
      expect(await signNarinfo(withSignatures(n, []), sk)).toBe(n.sigs[0]);
    });
  }

  it("verify with NarHash rewritten in base16, as Nix 2.8's `nix store verify` also accepts", async () => {
    const n = parseNarinfo(NIX_SIGNED_WITH_REFERENCE);
    const text = NIX_SIGNED_WITH_REFERENCE.replace(/NarHash: .*/, `NarHash: sha256:${base16Encode(n.narHash.bytes)}`);
    expect(text).toContain("NarHash: sha256:117aaa4dd7094b6e4c8cab9bb4fb9e1c65a2d092419a0483adf0cbd87e14d19e\n");
    expect(await verifyNarinfo(parseNarinfo(text), [pk])).toEqual({ valid: true, keyName: "edge-test-1" });
  });
});

describe("signNarinfo and verifyNarinfo with a generated key", () => {
  const base = parseNarinfo(PROTOCOL_NARINFO);

  async function signed(): Promise<{ n: Narinfo; pk: PublicKey }> {
    const { sk, pk } = await generateNixKeyPair("edge-gen-1");
    const sig = await signNarinfo(base, sk);
    expect(sig).toMatch(/^edge-gen-1:[A-Za-z0-9+/]{86}==$/);
    return { n: withSignatures(base, [sig]), pk };
  }

  it("verifies what it signs, also after a format/parse round trip", async () => {
    const { n, pk } = await signed();
    expect(await verifyNarinfo(n, [pk])).toEqual({ valid: true, keyName: "edge-gen-1" });
    expect(await verifyNarinfo(parseNarinfo(formatNarinfo(n)), [pk])).toEqual({ valid: true, keyName: "edge-gen-1" });
  });

  const otherHash = parseNixHash(`sha256:${"1".padEnd(52, "0")}`);
  const tampered: [string, (n: Narinfo) => Narinfo][] = [
    ["StorePath hash", (n) => ({ ...n, storePath: { ...n.storePath, hash: "0".repeat(32) } })],
    ["StorePath name", (n) => ({ ...n, storePath: { ...n.storePath, name: "feas-apq" } })],
    ["NarHash", (n) => ({ ...n, narHash: otherHash, narHashText: `sha256:${"1".padEnd(52, "0")}` })],
    ["NarSize", (n) => ({ ...n, narSize: n.narSize + 1 })],
    ["References: removed", (n) => ({ ...n, references: [] })],
    ["References: added", (n) => ({ ...n, references: [...n.references, n.storePath] })],
    [
      "References: changed",
      (n) => ({ ...n, references: [parseStorePathBaseName("d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-deq")] }),
    ],
  ];
  for (const [field, change] of tampered) {
    it(`fails when ${field} changes`, async () => {
      const { n, pk } = await signed();
      expect(await verifyNarinfo(change(n), [pk])).toEqual({ valid: false, reason: "bad-signature" });
    });
  }

  const unsigned: [string, (n: Narinfo) => Narinfo][] = [
    ["URL", (n) => ({ ...n, url: "nar/other.nar" })],
    ["Compression", (n) => ({ ...n, compression: "zstd" })],
    ["FileHash and FileSize", (n) => ({ ...n, fileHash: otherHash, fileHashText: undefined, fileSize: 1 })],
    ["Deriver", (n) => ({ ...n, deriver: "unknown-deriver" })],
    ["CA", (n) => ({ ...n, ca: "fixed:r:sha256:" + "0".repeat(52) })],
    [
      "NarHash spelling",
      (n) => parseNarinfo(formatNarinfo(n).replace(/NarHash: .*/, `NarHash: sha256-${base64Encode(n.narHash.bytes)}`)),
    ],
  ];
  for (const [field, change] of unsigned) {
    it(`still verifies when ${field} changes (not in the fingerprint)`, async () => {
      const { n, pk } = await signed();
      expect((await verifyNarinfo(change(n), [pk])).valid).toBe(true);
    });
  }

  it("is unsigned without any well-formed Sig", async () => {
    const { n, pk } = await signed();
    expect(await verifyNarinfo(withSignatures(n, []), [pk])).toEqual({ valid: false, reason: "unsigned" });
    expect(await verifyNarinfo(withSignatures(n, ["garbage", "edge-gen-1:AAAA", ""]), [pk])).toEqual({
      valid: false,
      reason: "unsigned",
    });
  });

  it("skips malformed Sig lines next to a good one", async () => {
    const { n, pk } = await signed();
    expect(await verifyNarinfo(withSignatures(n, ["garbage", "edge-gen-1:AAAA", ...n.sigs]), [pk])).toEqual({
      valid: true,
      keyName: "edge-gen-1",
    });
  });

  it("reports no-trusted-key when no Sig names a trusted key", async () => {
    const { n } = await signed();
    expect(await verifyNarinfo(n, [parsePublicKey(CACHE_NIXOS_ORG_KEY)])).toEqual({
      valid: false,
      reason: "no-trusted-key",
    });
    expect(await verifyNarinfo(n, [])).toEqual({ valid: false, reason: "no-trusted-key" });
    expect(await verifyNarinfo(base, [parsePublicKey(CACHE_NIXOS_ORG_KEY)])).toEqual({
      valid: false,
      reason: "no-trusted-key",
    });
  });

  it("rejects a signature by another key that has the trusted key's name", async () => {
    const { n } = await signed();
    const impostor = await generateNixKeyPair("edge-gen-1");
    expect(await verifyNarinfo(n, [impostor.pk])).toEqual({ valid: false, reason: "bad-signature" });
  });

  it("accepts when any one of several Sigs verifies with any trusted key", async () => {
    const { n, pk } = await signed();
    const other = await generateNixKeyPair("other-1");
    const otherSig = await signNarinfo(n, other.sk);
    const bogus = `edge-gen-1:${base64Encode(new Uint8Array(64))}`;
    const m = withSignatures(n, [bogus, otherSig, ...n.sigs]);
    expect(await verifyNarinfo(m, [parsePublicKey(CACHE_NIXOS_ORG_KEY), pk])).toEqual({
      valid: true,
      keyName: "edge-gen-1",
    });
    expect(await verifyNarinfo(m, [other.pk])).toEqual({ valid: true, keyName: "other-1" });
  });

  it("verifies a trusted Sig in any spelling Nix reads, canonical or not", async () => {
    const { n, pk } = await signed();
    const [name, payload] = [
      n.sigs[0]!.slice(0, n.sigs[0]!.indexOf(":")),
      n.sigs[0]!.slice(n.sigs[0]!.indexOf(":") + 1),
    ];
    // The canonical spelling is decoded in place; the others go through parseSignature.
    for (const spelling of [payload, payload.replace(/=+$/, ""), `${payload.slice(0, 40)}\n${payload.slice(40)}`]) {
      expect(await verifyNarinfo(withSignatures(n, [`${name}:${spelling}`]), [pk]), spelling).toEqual({
        valid: true,
        keyName: name,
      });
    }
    // One bit flipped in the canonical spelling: refused, and then a good Sig after it still counts.
    const flipped = `${name}:${payload.slice(0, 10)}${payload[10] === "A" ? "B" : "A"}${payload.slice(11)}`;
    expect(await verifyNarinfo(withSignatures(n, [flipped]), [pk])).toEqual({ valid: false, reason: "bad-signature" });
    expect(await verifyNarinfo(withSignatures(n, [flipped, ...n.sigs]), [pk])).toEqual({ valid: true, keyName: name });
  });

  it("tries every trusted key that has the Sig's name, in order", async () => {
    const { n, pk } = await signed();
    const impostor = await generateNixKeyPair("edge-gen-1");
    expect(await verifyNarinfo(n, [impostor.pk, pk])).toEqual({ valid: true, keyName: "edge-gen-1" });
    expect(await verifyNarinfo(n, [impostor.pk, impostor.pk])).toEqual({ valid: false, reason: "bad-signature" });
  });

  it("verifies narinfos started together, before their key is imported, each against its own fingerprint", async () => {
    // The fingerprint and the Sig are written into buffers shared by every verify; each call must have taken its
    // bytes before the next one writes them, also while the first import of the key is still pending.
    const { sk, pk } = await generateNixKeyPair("edge-gen-2");
    const narinfos = await Promise.all(
      [1, 2, 3, 4].map(async (narSize) => {
        const m = { ...base, narSize };
        return withSignatures(m, [await signNarinfo(m, sk)]);
      }),
    );
    const fresh = { ...pk, key: pk.key.slice() }; // a key object never imported yet
    const crossed = narinfos.map((m, i) => withSignatures(m, narinfos[(i + 1) % narinfos.length]!.sigs));
    const results = await Promise.all([...narinfos, ...crossed].map((m) => verifyNarinfo(m, [fresh])));
    expect(results.map((r) => r.valid)).toEqual([true, true, true, true, false, false, false, false]);
    const again = await Promise.all([...crossed, ...narinfos].map((m) => verifyNarinfo(m, [fresh])));
    expect(again.map((r) => r.valid)).toEqual([false, false, false, false, true, true, true, true]);
  });

  it("reports bad-signature for a NarHash that is not sha256", async () => {
    const { n, pk } = await signed();
    const sha512 = { ...n, narHash: { algo: "sha512" as const, bytes: new Uint8Array(64) } };
    expect(await verifyNarinfo(sha512, [pk])).toEqual({ valid: false, reason: "bad-signature" });
  });

  it("refuses to sign with a secret key whose public half does not match its seed", async () => {
    const a = await generateNixKeyPair("edge-gen-1");
    const b = await generateNixKeyPair("edge-gen-1");
    const spliced: SecretKey = { name: "edge-gen-1", seed: a.sk.seed, publicKey: b.pk.key };
    await expect(signNarinfo(base, spliced)).rejects.toThrow(FormatError);
  });
});

describe("parseSignature", () => {
  it("parses name:base64 of 64 bytes", () => {
    const sig = parseSignature(parseNarinfo(PROTOCOL_NARINFO).sigs[0]!);
    expect(sig.keyName).toBe("cache-test-1");
    expect(sig.sig.length).toBe(64);
  });

  it("rejects other lengths and shapes", () => {
    for (const s of ["", "cache-test-1", "cache-test-1:", ":AAAA", "k:AAAA", `k:${base64Encode(new Uint8Array(65))}`]) {
      expect(() => parseSignature(s), s).toThrow(FormatError);
    }
  });
});
