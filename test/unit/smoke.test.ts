import { describe, expect, it } from "vitest";
describe("smoke", () => { it("ed25519", async () => {
  const k = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  expect(k.publicKey).toBeTruthy();
  expect(typeof (crypto as any).DigestStream).toBe("function");
}); });
