/**
 * Global setup of the workerd projects (vitest.config.ts), run in vitest's node process. Console output of tests
 * is captured per test by vitest (`silent: "passed-only"`); but workerd's own runtime messages reach the terminal
 * directly, unattributed to any test. The fault-injection tests (origins that stall, truncate, hang up) make
 * workerd report the disconnects they cause, and each test file's end closes its runner's WebSocket. Those runtime
 * lines go to .tmp/workerd.log instead of the terminal, so that a green `npm test` is quiet; a failing test still
 * shows its own logs, and the file keeps the runtime's side.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const LOG = join(import.meta.dirname, "..", ".tmp", "workerd.log");

// What workerd (and Miniflare's workers inside it) print on their own: `exception = <kj source>: ...` with its
// `stack:` line, unhandled rejections inside a worker, and the Cache API worker's failed body writes.
const RUNTIME_LINE = /^(exception = |stack: \S*workerd@|uncaught exception; source = |Error writing HTTP body: )/;

const installed = Symbol.for("nix-edge-cache.workerdLog");

type Write = typeof process.stderr.write;

function divert(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as Write;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : "";
    if (RUNTIME_LINE.test(text)) {
      appendFileSync(LOG, text.endsWith("\n") ? text : `${text}\n`);
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as Write;
}

export default function setup(): void {
  const state = globalThis as { [installed]?: boolean };
  if (state[installed]) return;
  state[installed] = true;
  mkdirSync(join(LOG, ".."), { recursive: true });
  writeFileSync(LOG, "");
  divert(process.stdout);
  divert(process.stderr);
}
