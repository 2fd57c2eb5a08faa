/**
 * The admin page in a real browser: Debian's headless Chromium, driven by playwright-core, against `wrangler dev`
 * running the cache worker and the admin worker on shared local state (KV denylist, R2 with demo/cache, D1 audit).
 *
 * As in test/e2e/admin.e2e.test.ts, multi-config dev serves only its first worker on the port, so the first is a
 * gateway bound to both; here it routes by host name, like the two hostnames of one zone in production:
 * `localhost:<port>` is the admin worker (the page), `127.0.0.1:<port>` the cache. The Analytics Engine SQL API is
 * a fake on loopback (ANALYTICS_SQL_API) that records each query and answers fixed rows. Screenshots go to
 * .tmp/screenshots/ (git-ignored; CI keeps .tmp/ as artifacts).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyAdminMigrations,
  check,
  freePort,
  makeTempDir,
  rawRequest,
  removeDir,
  REPO_ROOT,
  seedR2From,
  startDevWorkers,
  WRANGLER_ENV,
  writeGateway,
  writeWorkerConfigs,
} from "../e2e/harness";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(REPO_ROOT, ".tmp", "screenshots");
const TOKENS = { admin: "browser-admin-token-7Qe2Lm9Xc4", reader: "browser-read-token-3Tn8Vb5Kw1" };
const SQL = {
  account: "0123456789abcdef0123456789abcdef",
  token: "browser-sql-token-for-tests-only",
  dataset: "nix_cache_edge_browser",
};
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

let work: string;
let persistTo: string;
let cacheUrl: string;
let adminUrl: string;
let dev: { stop(): Promise<void> } | undefined;
let context: BrowserContext;
let sqlServer: http.Server;
const sqlCalls: { path: string; authorization?: string; sql: string }[] = [];
let demo: { paths: string[]; top: string };
const hashOf = (storePath: string) => storePath.slice("/nix/store/".length, "/nix/store/".length + 32);

/** Six hours of traffic: hits rising from 50 % to 100 %, the rest from R2 and, early on, S3. */
function sqlRows() {
  const rows = [];
  const now = Date.now();
  for (let i = 5; i >= 0; i--) {
    const hour = new Date(now - i * 3_600_000).toISOString().slice(0, 13).replace("T", " ") + ":00:00";
    const hits = 50 + (5 - i) * 10;
    rows.push({ hour, cache_status: "HIT", origin: "edge", requests: hits, bytes: hits * 1000 });
    rows.push({
      hour,
      cache_status: "MISS",
      origin: "r2:NAR_BUCKET",
      requests: 100 - hits - (i > 2 ? 10 : 0),
      bytes: 5000,
    });
    if (i > 2) rows.push({ hour, cache_status: "MISS", origin: "s3-nix-cache", requests: 10, bytes: 900 });
  }
  return rows;
}

async function startSqlApi(): Promise<number> {
  sqlServer = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      sqlCalls.push({ path: req.url ?? "", authorization: req.headers.authorization, sql: body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ meta: [], data: sqlRows(), rows: 0 }));
    });
  });
  await new Promise<void>((r) => sqlServer.listen(0, "127.0.0.1", () => r()));
  return (sqlServer.address() as AddressInfo).port;
}

async function writeConfigs(
  dir: string,
  port: number,
  sqlPort: number,
): Promise<{ gateway: string; cache: string; admin: string }> {
  const gateway = await writeGateway(dir, "nix-cache-browser-gateway", 'url.hostname === "localhost"');
  const { cache, admin } = await writeWorkerConfigs(dir);
  const tokens = [
    { id: "browser-admin", sha256: sha256(TOKENS.admin), scopes: ["purge", "block", "delete", "read"] },
    { id: "browser-reader", sha256: sha256(TOKENS.reader), scopes: ["read"] },
  ];
  await writeFile(
    join(dir, ".dev.vars"),
    [
      `ADMIN_TOKENS='${JSON.stringify(tokens)}'`,
      `PUBLIC_URL=${cacheUrl}`,
      `ANALYTICS_ACCOUNT_ID=${SQL.account}`,
      `ANALYTICS_API_TOKEN=${SQL.token}`,
      `ANALYTICS_DATASET=${SQL.dataset}`,
      `ANALYTICS_SQL_API=http://127.0.0.1:${sqlPort}/client/v4`,
      "",
    ].join("\n"),
  );
  return { gateway, cache, admin };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${adminUrl}/`);
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app:not([hidden])");
}

async function lookUp(page: Page, path: string): Promise<void> {
  await page.fill("#path", path);
  await page.click("#lookup-form button[type=submit]");
  await page.waitForSelector("#r-store-path");
}

const cacheStatus = async (path: string) => (await rawRequest(`${cacheUrl}${path}`)).status;

/** Errors the page raised (CSP violations included): any is a failure. */
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // A 401 the page handles still logs "Failed to load resource"; CSP violations and script errors do not look so.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
      pageErrors.push(`console: ${m.text()}`);
  });
  return page;
}

beforeAll(async () => {
  demo = JSON.parse(await readFile(join(REPO_ROOT, "demo/demo.json"), "utf8"));
  await mkdir(SCREENSHOTS, { recursive: true });
  work = await makeTempDir();
  persistTo = join(work, "state");
  const port = await freePort();
  cacheUrl = `http://127.0.0.1:${port}`;
  adminUrl = `http://localhost:${port}`;
  const sqlPort = await startSqlApi();
  const { gateway, cache, admin } = await writeConfigs(work, port, sqlPort);
  await applyAdminMigrations(admin, persistTo);
  await seedR2From(persistTo, join(REPO_ROOT, "demo/cache"));
  dev = await startDevWorkers({
    configs: [gateway, cache, admin],
    port,
    persistTo,
    registryDir: work,
    readyUrl: `${cacheUrl}/health`,
  });
  context = await chromium.launchPersistentContext(join(work, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
}, 360_000);

afterAll(async () => {
  await context?.close();
  await dev?.stop();
  await new Promise<void>((r) => (sqlServer ? sqlServer.close(() => r()) : r()));
  if (work) await removeDir(work);
});

describe("the admin page in headless Chromium", () => {
  it("the committed script bundle is what the sources build to", async () => {
    await check(process.execPath, [join(REPO_ROOT, "scripts/build-admin-page.mjs"), "--check"]);
  });

  it("an admin signs in, looks a path up, blocks it (cache answers 410, audit shows it), unblocks it", async () => {
    const page = await newPage();
    const hash = hashOf(demo.top);
    expect(await cacheStatus(`/${hash}.narinfo`)).toBe(200);

    await signIn(page, TOKENS.admin);
    expect(await page.textContent("#whoami")).toBe("browser-admin (purge, block, delete, read)");
    // The token lives in this tab's sessionStorage only.
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);

    await lookUp(page, demo.top);
    expect(await page.textContent("#r-store-path")).toBe(demo.top);
    expect(await page.textContent("#r-signature")).toBe("valid (nix-edge-cache-demo-1)");
    expect(await page.textContent("#r-blocked")).toBe("no");
    expect(await page.isVisible("#purge")).toBe(true);

    await page.fill("#block-reason", "browser test: leaked secret");
    await page.click("#block");
    await page.waitForSelector("#confirm:not([hidden]) #confirm-go");
    const planned = await page.$$eval("#confirm-list li", (lis) => lis.map((li) => li.textContent));
    expect(planned).toContain(`path:${hash}`);
    expect(planned).toContain(`${cacheUrl}/${hash}.narinfo`);
    // Nothing happened yet: the confirmation showed a dry run.
    expect(await cacheStatus(`/${hash}.narinfo`)).toBe(200);
    await shot(page, "admin-block-confirmation");

    await page.click("#confirm-go");
    await page.waitForSelector("#unblock");
    expect(await page.textContent("#notice")).toContain(`Blocked ${hash}`);
    expect(await page.textContent("#r-blocked")).toContain("blocked: browser test: leaked secret (by browser-admin");
    expect(await cacheStatus(`/${hash}.narinfo`)).toBe(410);

    const firstRow = page.locator("#audit-table tbody tr").first();
    await expect.poll(() => firstRow.locator("td").nth(3).textContent()).toBe("block");
    expect(await firstRow.locator("td").nth(2).textContent()).toBe("browser-admin");
    expect(await firstRow.locator("td").nth(4).textContent()).toBe("ok");
    expect(await firstRow.locator("td").nth(6).textContent()).toBe(hash);

    // Charts from the fake SQL API: one bar per hour, origins in the legend.
    await page.waitForSelector("#chart-hit-ratio rect.bar-hit");
    expect(await page.locator("#chart-hit-ratio rect.bar-hit").count()).toBe(6);
    expect(await page.locator("#chart-origin-share rect").count()).toBe(6 * 2 + 3);
    expect(await page.$$eval(".legend li", (lis) => lis.map((li) => li.textContent))).toEqual([
      "edge",
      "r2:NAR_BUCKET",
      "s3-nix-cache",
    ]);
    expect(sqlCalls.length).toBeGreaterThan(0);
    expect(sqlCalls[0]!.path).toBe(`/client/v4/accounts/${SQL.account}/analytics_engine/sql`);
    expect(sqlCalls[0]!.authorization).toBe(`Bearer ${SQL.token}`);
    expect(sqlCalls[0]!.sql).toContain(`FROM ${SQL.dataset}`);

    await page.click("#health-check");
    await page.waitForSelector("#health-status");
    expect(await page.textContent("#health-status")).toMatch(/^Overall: ok/);
    await shot(page, "admin-blocked");

    await page.click("#unblock");
    await page.waitForSelector("#confirm:not([hidden]) #confirm-go");
    expect(await page.$$eval("#confirm-list li", (lis) => lis.map((li) => li.textContent))).toEqual([
      `DELETE /v1/block/${hash}`,
    ]);
    await page.click("#confirm-go");
    await page.waitForSelector("#block");
    expect(await page.textContent("#r-blocked")).toBe("no");
    expect(await cacheStatus(`/${hash}.narinfo`)).toBe(200);
    await expect.poll(() => firstRow.locator("td").nth(3).textContent()).toBe("unblock");

    // The audit filter: only blocks.
    await page.selectOption("#audit-action", "block");
    await page.click("#audit-form button[type=submit]");
    await expect
      .poll(() =>
        page.$$eval("#audit-table tbody tr td:nth-child(4)", (tds) => [...new Set(tds.map((td) => td.textContent))]),
      )
      .toEqual(["block"]);
    await shot(page, "admin-unblocked");
    await page.close();
  });

  it("a read-only token sees the path, the audit and the charts, but no purge or block button", async () => {
    const page = await newPage();
    await signIn(page, TOKENS.reader);
    expect(await page.textContent("#whoami")).toBe("browser-reader (read)");
    await lookUp(page, hashOf(demo.top));
    expect(await page.textContent("#r-signature")).toBe("valid (nix-edge-cache-demo-1)");
    expect(await page.locator("#purge").count()).toBe(0);
    expect(await page.locator("#block").count()).toBe(0);
    expect(await page.locator("#unblock").count()).toBe(0);
    await page.waitForSelector("#audit-table tbody tr");
    await page.waitForSelector("#chart-hit-ratio");
    await shot(page, "admin-read-only");

    await page.click("#sign-out");
    expect(await page.isVisible("#login")).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.close();
  });

  it("an unknown token is refused and nothing is shown", async () => {
    const page = await newPage();
    await page.goto(`${adminUrl}/`);
    await page.fill("#token", "not-a-token");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-error:text('Unknown token.')");
    expect(await page.isVisible("#app")).toBe(false);
    await page.close();
  });

  it("raised no script error and no CSP violation", () => {
    expect(pageErrors).toEqual([]);
  });
});
