// Signed narinfos for random store paths, made with the project's own src/narinfo code (bundled for node with
// esbuild) and a throw-away Ed25519 key: as many distinct, validly signed narinfos as a benchmark needs.
import { createHash, createPrivateKey, randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { REPO_ROOT } from "./util.mjs";

export async function loadNarinfoLib(dir) {
  const outfile = join(dir, "narinfo-lib.mjs");
  await build({
    // Just what the benchmarks call, from the core's own modules.
    stdin: {
      contents: [
        'export { formatNarinfo, parseNarinfo } from "./narinfo";',
        'export { parseSecretKey } from "./keys";',
        'export { nix32Encode } from "./nix32";',
        'export { signNarinfo } from "./signature";',
      ].join("\n"),
      resolveDir: join(REPO_ROOT, "src", "narinfo"),
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile,
    logLevel: "error",
  });
  return import(pathToFileURL(outfile).href);
}

/** A Nix-style key pair: `name:base64(seed ‖ public)` and `name:base64(public)`. */
export function makeKeyPair(name) {
  const seed = randomBytes(32);
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const pub = Buffer.from(
    createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({ format: "jwk" }).x,
    "base64url",
  );
  return {
    secretKey: `${name}:${Buffer.concat([seed, pub]).toString("base64")}`,
    publicKey: `${name}:${pub.toString("base64")}`,
  };
}

/** `count` distinct signed narinfos; each { hash, key: "<hash>.narinfo", text }. */
export async function makeNarinfos(lib, secretKeyText, count, { references = 6 } = {}) {
  const sk = lib.parseSecretKey(secretKeyText);
  const storePath = (name) => `${lib.nix32Encode(randomBytes(20))}-${name}`;
  const out = [];
  for (let i = 0; i < count; i++) {
    const self = storePath(`bench-path-${i}`);
    const refs = [self, ...Array.from({ length: references - 1 }, (_, r) => storePath(`bench-dep-${r}`))];
    const fileHash = lib.nix32Encode(randomBytes(32));
    const narSize = 100_000 + Math.floor(Math.random() * 10_000_000);
    const unsigned = [
      `StorePath: /nix/store/${self}`,
      `URL: nar/${fileHash}.nar.zst`,
      "Compression: zstd",
      `FileHash: sha256:${fileHash}`,
      `FileSize: ${Math.floor(narSize / 3)}`,
      `NarHash: sha256:${lib.nix32Encode(randomBytes(32))}`,
      `NarSize: ${narSize}`,
      `References: ${refs.join(" ")}`,
      `Deriver: ${lib.nix32Encode(randomBytes(20))}-bench-path-${i}.drv`,
      "",
    ].join("\n");
    const parsed = lib.parseNarinfo(unsigned);
    const sig = await lib.signNarinfo(parsed, sk);
    const text = lib.formatNarinfo({ ...parsed, sigs: [sig] });
    out.push({ hash: self.slice(0, 32), key: `${self.slice(0, 32)}.narinfo`, text });
  }
  return out;
}

/** The NAR of a single regular (non-executable) file: the format in docs/protocol.md, strings padded to 8 bytes. */
export function narOfFile(contents) {
  const parts = [];
  const str = (s) => {
    const b = typeof s === "string" ? Buffer.from(s) : s;
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(b.length));
    parts.push(len, b, Buffer.alloc((8 - (b.length % 8)) % 8));
  };
  for (const s of ["nix-archive-1", "(", "type", "regular", "contents"]) str(s);
  str(contents);
  str(")");
  return Buffer.concat(parts);
}

/**
 * The NAR of one small file of random bytes (0.5 to 8 KiB, as the closure's paths): its bytes, its nix32 sha256 and
 * its key, `nar/<hash>.nar`, stored uncompressed so the worker checks its hash.
 */
export function smallNar(lib) {
  const nar = narOfFile(randomBytes(512 + Math.floor(Math.random() * 7680)));
  const narHash = lib.nix32Encode(createHash("sha256").update(nar).digest());
  return { nar, narHash, narKey: `nar/${narHash}.nar` };
}

/**
 * The narinfo of `storePath` for a NAR stored uncompressed (smallNar's), naming `references` (base names), signed
 * with `sk`; and its key, `<hash>.narinfo`.
 */
export async function signedNarinfo(lib, sk, storePath, { nar, narHash, narKey }, references = []) {
  const parsed = lib.parseNarinfo(
    [
      `StorePath: ${storePath}`,
      `URL: ${narKey}`,
      "Compression: none",
      `FileHash: sha256:${narHash}`,
      `FileSize: ${nar.length}`,
      `NarHash: sha256:${narHash}`,
      `NarSize: ${nar.length}`,
      `References: ${references.join(" ")}`,
      "",
    ].join("\n"),
  );
  const base = storePath.slice(storePath.lastIndexOf("/") + 1);
  return {
    narinfo: lib.formatNarinfo({ ...parsed, sigs: [await lib.signNarinfo(parsed, sk)] }),
    narinfoKey: `${base.slice(0, 32)}.narinfo`,
  };
}
