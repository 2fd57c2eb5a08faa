// `npm start`: seeds the local R2 bucket of `wrangler dev` with the signed demo cache in demo/ and serves it on
// 127.0.0.1:8787, printing the demo's public key and the command that substitutes from it.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { seedR2 } from "./seed-r2.mjs";
import { WRANGLER_ENV } from "./wrangler-env.mjs";

const root = join(import.meta.dirname, "..");
const port = process.env.PORT ?? "8787";
// wrangler dev's own default persistence directory, so `npx wrangler dev` alone sees the same seeded bucket.
const persistTo = join(root, ".wrangler", "state");
const demo = JSON.parse(await readFile(join(root, "demo", "demo.json"), "utf8"));

const keys = await seedR2({ persistTo, bucket: "nix-cache-demo", cacheDir: join(root, "demo", "cache") });
console.log(`Seeded ${keys.length} demo objects into the local R2 bucket "nix-cache-demo".`);
console.log(`
Demo public key (a published test key, trust it only for this demo):
  ${demo.publicKey}

With Nix installed, once the worker says "Ready":
  nix-store -r ${demo.top} \\
    --option substituters http://127.0.0.1:${port} \\
    --option trusted-public-keys '${demo.publicKey}'
  ${demo.top}/bin/nix-edge-cache-demo-hello
`);

const wrangler = spawn(
  process.execPath,
  [
    join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    port,
    "--persist-to",
    persistTo,
  ],
  {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ...WRANGLER_ENV },
  },
);
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code) => process.exit(code ?? 1));
