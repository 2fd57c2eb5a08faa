// The processes a benchmark run starts, each stopped by the handle it returns (never by name):
// workers in workerd (scripts/lib/worker-server.mjs), the Swift S3 server (scripts/s3-origin.sh), nginx.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { s3Client } from "../../scripts/s3-client.mjs";
import { REPO_ROOT, freePort, freePortRange, run, sleep } from "./util.mjs";

const started = new Set();

/**
 * The cache worker's bindings in sections 1–4 and 8: one S3 origin (Requester Pays, its secrets under `S3_`), the
 * bench's signing key trusted. Started with the DENYLIST KV bound, as deployed.
 */
export function s3CacheWorkerBindings(s3, bucket, publicKey) {
  const origin = {
    type: "s3",
    name: "s3-bench",
    endpoint: s3.endpoint,
    bucket,
    region: "us-east-1",
    requesterPays: true,
    credentials: "S3",
  };
  return {
    ORIGINS: JSON.stringify([origin]),
    TRUSTED_PUBLIC_KEYS: publicKey,
    S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
}

/** Stops everything still running (on exit or error). */
export async function stopAll() {
  await Promise.all([...started].map((s) => s.stop().catch(() => undefined)));
}

/** Runs a benchmark script's `main`; if it fails, prints why, stops everything still running and exits 1. */
export function runMain(main) {
  main().catch(async (e) => {
    console.error(`[bench] FAILED: ${e.stack ?? e}`);
    await stopAll();
    process.exit(1);
  });
}

function waitExit(child, ms) {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r(true);
    const t = setTimeout(() => r(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      r(true);
    });
  });
}

/**
 * Starts a worker in workerd (Miniflare, own node process). `name` names its state and log files in `dir`.
 * Returns { url, workerdPid, stop() }.
 */
export async function startWorker(dir, name, options) {
  const port = await freePort();
  const optionsFile = join(dir, `${name}.options.json`);
  await mkdir(join(dir, `${name}-state`), { recursive: true });
  await writeFile(optionsFile, JSON.stringify({ ...options, port, persistRoot: join(dir, `${name}-state`) }));
  const log = createWriteStream(join(dir, `${name}.log`));
  const child = spawn(process.execPath, [join(REPO_ROOT, "scripts", "lib", "worker-server.mjs"), optionsFile], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    log.write(d);
  });
  child.stderr.on("data", (d) => log.write(d));
  const handle = {
    name,
    child,
    async stop() {
      started.delete(handle);
      child.kill("SIGTERM");
      if (!(await waitExit(child, 5000))) child.kill("SIGKILL");
    },
  };
  started.add(handle);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = out.split("\n").find((l) => l.startsWith("READY "));
    if (line) {
      Object.assign(handle, JSON.parse(line.slice(6)));
      break;
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await handle.stop();
      throw new Error(`worker ${name} did not start; see ${name}.log:\n${out.slice(-2000)}`);
    }
    await sleep(50);
  }
  if (!handle.workerdPid) throw new Error(`worker ${name}: could not find the workerd process`);
  return handle;
}

/** The S3 server (scripts/s3-origin.sh: Swift + s3api on loopback), in its own state dir and port range. */
export async function startS3(dir) {
  const port = await freePortRange(5);
  const env = { S3_ORIGIN_DIR: join(dir, "s3-origin"), S3_ORIGIN_PORT: String(port) };
  const script = join(REPO_ROOT, "scripts", "s3-origin.sh");
  await run(script, ["start"], { env, timeoutMs: 120_000 });
  const credentials = { accessKeyId: "test:tester", secretAccessKey: "testing", region: "us-east-1" };
  const endpoint = `http://127.0.0.1:${port}`;
  const handle = {
    endpoint,
    port,
    credentials,
    client: s3Client({ endpoint, ...credentials }),
    presigner: new AwsClient({ ...credentials, service: "s3", retries: 0 }),
    /** A query-signed (presigned) URL for one object, valid for a day. */
    async presign(bucket, key, method = "GET") {
      const url = new URL(this.client.url(bucket, key));
      url.searchParams.set("X-Amz-Expires", "86400");
      const signed = await this.presigner.sign(url.toString(), { method, aws: { signQuery: true } });
      return signed.url;
    },
    async stop() {
      started.delete(handle);
      await run(script, ["stop"], { env, timeoutMs: 60_000 });
    },
  };
  started.add(handle);
  return handle;
}

/** nginx serving `root` as plain files: the static-file reference. One worker process, like workerd's one thread. */
export async function startNginx(dir, root) {
  const port = await freePort();
  const prefix = join(dir, "nginx");
  await mkdir(join(prefix, "tmp"), { recursive: true });
  const conf = join(prefix, "nginx.conf");
  await writeFile(
    conf,
    `daemon off;
${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  types { text/x-nix-narinfo narinfo; application/x-nix-nar nar; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const child = spawn("nginx", ["-p", prefix, "-c", conf, "-e", join(prefix, "error.log")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const handle = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      started.delete(handle);
      child.kill("SIGTERM");
      if (!(await waitExit(child, 5000))) child.kill("SIGKILL");
    },
  };
  started.add(handle);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(handle.url + "/");
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        await handle.stop();
        throw new Error(`nginx did not start: ${err}`);
      }
      await sleep(50);
    }
  }
  // The master forks one worker: that is the process doing the serving.
  return handle;
}
