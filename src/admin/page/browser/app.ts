/**
 * The admin page's script (bundled into /page/app.js by scripts/build-admin-page.mjs). It only calls the admin API
 * documented in docs/admin.md and docs/observability.md, with the signed-in token; the API checks every scope, and
 * the page hides what the token may not do (GET /v1/whoami). Data is put into the DOM as text, never as markup.
 */

const TOKEN_KEY = "nix-cache-admin-token";
type Scope = "purge" | "block" | "delete" | "read";

let scopes = new Set<Scope>();

// ---------------------------------------------------------------------------------------------------------------
// DOM helpers

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function svg(tag: string, attrs: Record<string, string | number>, ...children: Node[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el as T;
}

function notice(text: string, failed = false): void {
  const el = byId("notice");
  el.textContent = text;
  el.classList.toggle("failed", failed);
}

// ---------------------------------------------------------------------------------------------------------------
// the API

interface Answer {
  status: number;
  json: any;
}

async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json: any = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (res.status === 401) signOut("The token was refused; sign in again.");
  return { status: res.status, json };
}

function errorText(a: Answer): string {
  return `${a.status}: ${a.json?.error?.message ?? "request failed"}`;
}

// ---------------------------------------------------------------------------------------------------------------
// session

async function signIn(): Promise<boolean> {
  const who = await api("GET", "/v1/whoami");
  if (who.status !== 200) return false;
  scopes = new Set(who.json.scopes as Scope[]);
  byId("whoami").textContent = `${who.json.id} (${[...scopes].join(", ")})`;
  byId("session").hidden = false;
  byId("login").hidden = true;
  byId("app").hidden = false;
  document.body.dataset.scopes = [...scopes].join(" ");
  if (scopes.has("read")) {
    void loadAudit(true);
    void loadMetrics();
  }
  return true;
}

function signOut(message = ""): void {
  sessionStorage.removeItem(TOKEN_KEY);
  scopes = new Set();
  byId("session").hidden = true;
  byId("app").hidden = true;
  byId("login").hidden = false;
  byId("login-error").textContent = message;
  byId("path-result").replaceChildren();
  byId("confirm").hidden = true;
}

// ---------------------------------------------------------------------------------------------------------------
// store path lookup, purge, block, unblock

let current: { input: string; hash: string; status: any } | undefined;

function yesNo(ok: boolean, yes: string, no: string): HTMLElement {
  return h("span", { class: ok ? "ok" : "bad" }, ok ? yes : no);
}

function renderPath(status: any): void {
  const sig = status.signature;
  const narinfo = status.narinfo;
  const blocked = status.blocked;
  const dl = h(
    "dl",
    {},
    h("dt", {}, "Store path"),
    h("dd", { class: "mono", id: "r-store-path" }, status.storePath ?? `${status.hash} (no narinfo found)`),
    h("dt", {}, "Blocked"),
    h(
      "dd",
      { id: "r-blocked" },
      blocked ? yesNo(false, "", `blocked: ${blocked.reason} (by ${blocked.by}, ${blocked.at})`) : "no",
    ),
    h("dt", {}, "Narinfo"),
    h(
      "dd",
      { id: "r-narinfo" },
      typeof narinfo === "string"
        ? narinfo
        : `in ${narinfo.origin}: ${narinfo.url} (${narinfo.compression}, NAR ${narinfo.narSize} bytes)`,
    ),
    h("dt", {}, "Signature"),
    h(
      "dd",
      { id: "r-signature" },
      sig === null
        ? "—"
        : sig.valid
          ? yesNo(
              true,
              sig.contentAddressed ? "valid (content-addressed: no signature needed)" : `valid (${sig.key})`,
              "",
            )
          : yesNo(false, "", `refused: ${sig.reason}`),
    ),
  );
  const origins = h(
    "table",
    { id: "r-origins" },
    h("thead", {}, h("tr", {}, h("th", {}, "origin"), h("th", {}, "type"), h("th", {}, "narinfo"), h("th", {}, "NAR"))),
    h(
      "tbody",
      {},
      ...status.origins.map((o: any) =>
        h("tr", {}, h("td", {}, o.name), h("td", {}, o.type), h("td", {}, o.narinfo ?? "—"), h("td", {}, o.nar ?? "—")),
      ),
    ),
  );
  const edge = h(
    "table",
    { id: "r-edge" },
    h("thead", {}, h("tr", {}, h("th", {}, `edge cache (${status.edge.scope})`), h("th", {}, ""))),
    h(
      "tbody",
      {},
      ...Object.entries(status.edge.objects as Record<string, string>).map(([k, v]) =>
        h("tr", {}, h("td", { class: "mono" }, k), h("td", {}, v)),
      ),
    ),
  );
  const actions = h("div", { class: "actions" });
  if (scopes.has("purge")) actions.append(h("button", { type: "button", id: "purge" }, "Purge…"));
  if (scopes.has("block")) {
    if (blocked) actions.append(h("button", { type: "button", id: "unblock", class: "secondary" }, "Unblock…"));
    else
      actions.append(
        h("input", { id: "block-reason", placeholder: "reason for the block (required)" }),
        h("button", { type: "button", id: "block", class: "danger" }, "Block…"),
      );
  }
  byId("path-result").replaceChildren(dl, origins, edge, actions);
  document.getElementById("purge")?.addEventListener("click", () => void preparePurge());
  document.getElementById("block")?.addEventListener("click", () => void prepareBlock());
  document.getElementById("unblock")?.addEventListener("click", () => prepareUnblock());
}

async function lookUp(input: string): Promise<void> {
  byId("confirm").hidden = true;
  const a = await api("GET", `/v1/paths/${encodeURIComponent(input)}`);
  if (a.status !== 200) {
    byId("path-result").replaceChildren(h("p", { class: "error" }, errorText(a)));
    current = undefined;
    return;
  }
  current = { input, hash: a.json.hash, status: a.json };
  renderPath(a.json);
}

/** Shows exactly what a call will do and runs it only on "Confirm". */
function confirmPanel(title: string, lines: Child[], list: string[], go: string, run: () => Promise<void>): void {
  const panel = byId("confirm");
  const goButton = h("button", { type: "button", id: "confirm-go", class: "danger" }, go);
  const cancel = h("button", { type: "button", id: "confirm-cancel", class: "secondary" }, "Cancel");
  panel.replaceChildren(
    h("h3", {}, title),
    ...lines.map((l) => h("p", {}, l)),
    h("ul", { id: "confirm-list" }, ...list.map((x) => h("li", {}, x))),
    h("div", { class: "actions" }, goButton, cancel),
  );
  panel.hidden = false;
  cancel.addEventListener("click", () => (panel.hidden = true));
  goButton.addEventListener("click", async () => {
    goButton.setAttribute("disabled", "");
    await run();
    panel.hidden = true;
    if (current) await lookUp(current.input);
    if (scopes.has("read")) await loadAudit(true);
  });
}

async function preparePurge(): Promise<void> {
  if (!current) return;
  const { hash } = current;
  const plan = await api("POST", "/v1/purge", { paths: [hash], dry_run: true });
  if (plan.status !== 200) return notice(`Purge refused: ${errorText(plan)}`, true);
  const urls: string[] = plan.json.purge.urls;
  confirmPanel(
    `Purge ${hash}?`,
    [`These ${urls.length} URLs will be removed from the edge cache of every data centre. Origins keep the objects.`],
    urls,
    "Purge now",
    async () => {
      const done = await api("POST", "/v1/purge", { paths: [hash] });
      if (done.status === 200)
        notice(`Purged ${done.json.purge.urls.length} URLs (zone: ${done.json.purge.zone.status}).`);
      else notice(`Purge failed: ${errorText(done)}`, true);
    },
  );
}

async function prepareBlock(): Promise<void> {
  if (!current) return;
  const { hash } = current;
  const reason = byId<HTMLInputElement>("block-reason").value.trim();
  if (!reason) return notice("A block needs a reason (it goes into the audit log).", true);
  const plan = await api("POST", "/v1/block", { paths: [hash], reason, dry_run: true });
  if (plan.status !== 200) return notice(`Block refused: ${errorText(plan)}`, true);
  const path = plan.json.paths[0];
  confirmPanel(
    `Block ${hash}?`,
    [
      `Reason: ${reason}`,
      "The cache will answer 410 Gone for this path's narinfo, listing, NAR and log: " +
        `these denylist keys are written, then ${plan.json.purge.urls.length} URLs are purged.`,
    ],
    [...path.denylistKeys, ...plan.json.purge.urls],
    "Block now",
    async () => {
      const done = await api("POST", "/v1/block", { paths: [hash], reason });
      if (done.status === 200)
        notice(
          `Blocked ${hash} (${done.json.paths[0].denylistKeys.length} denylist keys, ` +
            `zone: ${done.json.purge.zone.status}).`,
        );
      else notice(`Block failed: ${errorText(done)}`, true);
    },
  );
}

function prepareUnblock(): void {
  if (!current?.status.blocked) return;
  const { hash } = current;
  const b = current.status.blocked;
  confirmPanel(
    `Unblock ${hash}?`,
    [
      `Blocked by ${b.by} at ${b.at}: ${b.reason}.`,
      "This denylist entry is deleted, with the related keys no other block needs; " +
        "the path is served again within a minute everywhere.",
    ],
    [`DELETE /v1/block/${hash}`],
    "Unblock now",
    async () => {
      const done = await api("DELETE", `/v1/block/${encodeURIComponent(hash)}`);
      if (done.status === 200) notice(`Unblocked ${hash} (removed ${done.json.removed.length} keys).`);
      else notice(`Unblock failed: ${errorText(done)}`, true);
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// audit log

let auditNext: string | null = null;

function auditQuery(): string {
  const params = new URLSearchParams({ limit: "20" });
  const action = byId<HTMLSelectElement>("audit-action").value;
  const actor = byId<HTMLInputElement>("audit-actor").value.trim();
  if (action) params.set("action", action);
  if (actor) params.set("actor", actor);
  return params.toString();
}

async function loadAudit(fresh: boolean): Promise<void> {
  const tbody = byId("audit-table").querySelector("tbody")!;
  const query = fresh || !auditNext ? `?${auditQuery()}` : `${auditNext}&${auditQuery().replace(/(^|&)limit=\d+/, "")}`;
  const a = await api("GET", `/v1/audit${query}`);
  if (a.status !== 200) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: "7", class: "error" }, errorText(a))));
    return;
  }
  const rows = (a.json.records as any[]).map((r) => {
    const req = r.request ?? {};
    const paths = Array.isArray(req.paths) ? req.paths.join(" ") : (req.path ?? "");
    return h(
      "tr",
      { "data-id": String(r.id) },
      h("td", {}, String(r.id)),
      h("td", {}, r.at),
      h("td", {}, r.actor),
      h("td", {}, r.action),
      h("td", {}, r.result),
      h("td", {}, String(r.status)),
      h("td", { class: "mono" }, paths),
    );
  });
  if (fresh) tbody.replaceChildren(...rows);
  else tbody.append(...rows);
  auditNext = a.json.next;
  byId("audit-more").hidden = auditNext === null;
}

// ---------------------------------------------------------------------------------------------------------------
// health

async function checkHealth(): Promise<void> {
  const a = await api("GET", "/v1/health");
  const out = byId("health-result");
  if (a.status !== 200) return void out.replaceChildren(h("p", { class: "error" }, errorText(a)));
  const j = a.json;
  out.replaceChildren(
    h("p", { id: "health-status" }, "Overall: ", yesNo(j.status === "ok", "ok", j.status), ` (checked ${j.checkedAt})`),
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "origin"),
          h("th", {}, "reachable"),
          h("th", {}, "latency"),
          h("th", {}, "breaker (this admin isolate)"),
        ),
      ),
      h(
        "tbody",
        {},
        ...j.origins.map((o: any) =>
          h(
            "tr",
            {},
            h("td", {}, o.name),
            h("td", {}, yesNo(o.reachable, "yes", `no: ${o.detail ?? o.answer}`)),
            h("td", {}, `${o.ms} ms`),
            h("td", {}, o.breaker),
          ),
        ),
      ),
    ),
    h(
      "p",
      {},
      "Cache worker /health: ",
      yesNo(j.cache.ok, `ok in ${j.cache.ms} ms`, `failed (${j.cache.status ?? j.cache.error})`),
      j.cache.body?.origins
        ? ` — breakers there: ${j.cache.body.origins.map((o: any) => `${o.name} ${o.breaker}`).join(", ")}`
        : "",
    ),
    h(
      "p",
      {},
      `Denylist: version ${j.denylist.version}, published ${j.denylist.publishedVersion}` +
        (j.denylist.publishedVersion < j.denylist.version ? " (behind: the cron trigger republishes)" : "") +
        "; KV serves " +
        ("error" in j.denylist.document
          ? `no usable document (${j.denylist.document.error})`
          : `version ${j.denylist.document.version} with ${j.denylist.document.keys} keys`) +
        `; changes reach every cache worker within ${j.denylist.maxStalenessSeconds} s; last change: `,
      j.denylist.lastChange
        ? `${j.denylist.lastChange.action} by ${j.denylist.lastChange.by} at ${j.denylist.lastChange.at}`
        : "none",
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// metrics charts (inline SVG, drawn from data; classes carry the colours)

const W = 600;
const H = 200;
const PAD = 34;

function hourLabel(hour: string): string {
  return hour.slice(11, 16) || hour;
}

function barChart(
  id: string,
  title: string,
  buckets: any[],
  bars: (b: any, x: number, w: number) => SVGElement[],
): HTMLElement {
  const n = Math.max(buckets.length, 1);
  const slot = (W - 2 * PAD) / n;
  const w = Math.max(slot * 0.7, 2);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, id });
  chart.append(svg("line", { class: "axis", x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD }));
  chart.append(svg("line", { class: "axis", x1: PAD, y1: PAD, x2: PAD, y2: H - PAD }));
  for (const [y, text] of [
    [PAD, "100%"],
    [H - PAD, "0"],
  ] as const) {
    const label = svg("text", { x: PAD - 3, y: y + 3, "text-anchor": "end", "font-size": 9 });
    label.textContent = text;
    chart.append(label);
  }
  buckets.forEach((b, i) => {
    const x = PAD + i * slot + (slot - w) / 2;
    chart.append(...bars(b, x, w));
    if (n <= 24 || i % Math.ceil(n / 12) === 0) {
      const label = svg("text", { x: x + w / 2, y: H - 6, "text-anchor": "middle", "font-size": 10 });
      label.textContent = hourLabel(b.hour);
      chart.append(label);
    }
  });
  return h("div", { class: "chart" }, h("h3", {}, title), chart as unknown as Node);
}

function titled(el: SVGElement, text: string): SVGElement {
  const t = document.createElementNS("http://www.w3.org/2000/svg", "title");
  t.textContent = text;
  el.append(t);
  return el;
}

async function loadMetrics(): Promise<void> {
  const hours = byId<HTMLSelectElement>("hours").value;
  const out = byId("charts");
  const a = await api("GET", `/v1/metrics?hours=${hours}`);
  if (a.status !== 200) return void out.replaceChildren(h("p", { class: "error" }, errorText(a)));
  if (!a.json.configured)
    return void out.replaceChildren(
      h("p", { class: "hint" }, "Metrics are not configured (ANALYTICS_ACCOUNT_ID; docs/observability.md)."),
    );
  const buckets: any[] = a.json.buckets;
  if (buckets.length === 0) return void out.replaceChildren(h("p", { class: "hint" }, "No requests in this period."));
  const originNames = [...new Set(buckets.flatMap((b) => b.origins.map((o: any) => o.origin as string)))];
  const cls = (origin: string) => `o${Math.min(originNames.indexOf(origin), 5)}`;
  const plot = H - 2 * PAD;
  const hit = barChart("chart-hit-ratio", "Edge hit ratio (narinfos and NARs)", buckets, (b, x, w) => {
    const ratio = b.hitRatio ?? 0;
    return [
      titled(
        svg("rect", { class: "bar-hit", x, width: w, y: PAD + plot * (1 - ratio), height: plot * ratio }),
        `${b.hour}: ${(ratio * 100).toFixed(1)} % of ${Math.round(b.requests)} requests`,
      ),
    ];
  });
  const share = barChart("chart-origin-share", "Share of answers by origin", buckets, (b, x, w) => {
    let y = PAD + plot;
    return b.origins.map((o: any) => {
      const height = plot * o.share;
      y -= height;
      return titled(
        svg("rect", { class: cls(o.origin), x, width: w, y, height }),
        `${b.hour}: ${o.origin} ${(o.share * 100).toFixed(1)} %, ${o.bytes} bytes`,
      );
    });
  });
  const legend = h(
    "ul",
    { class: "legend" },
    ...originNames.map((o) => h("li", {}, h("span", { class: `swatch ${cls(o)}` }), o)),
  );
  out.replaceChildren(h("div", { class: "charts" }, hit, share), legend);
}

// ---------------------------------------------------------------------------------------------------------------
// wiring

function on(id: string, event: string, handler: (e: Event) => void | Promise<void>): void {
  byId(id).addEventListener(event, (e) => {
    if (event === "submit") e.preventDefault();
    void handler(e);
  });
}

function start(): void {
  on("login-form", "submit", async () => {
    const input = byId<HTMLInputElement>("token");
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = "";
    if (!(await signIn())) signOut("Unknown token.");
  });
  on("sign-out", "click", () => signOut());
  on("lookup-form", "submit", () => lookUp(byId<HTMLInputElement>("path").value.trim()));
  on("audit-form", "submit", () => loadAudit(true));
  on("audit-more", "click", () => loadAudit(false));
  on("health-check", "click", () => checkHealth());
  on("metrics-form", "submit", () => loadMetrics());
  if (sessionStorage.getItem(TOKEN_KEY)) {
    void signIn().then((ok) => {
      if (!ok) signOut();
    });
  }
}

start();
