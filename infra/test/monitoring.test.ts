// infra/monitoring/: the alert rules and probe modules evaluate, every metric and label a rule names is one the
// admin worker exports (src/admin/metrics/prometheusMetrics.ts), every probe job a rule names is scraped, and every
// runbook link resolves to a heading of docs/runbook.md.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exposition } from "../../src/admin/metrics/prometheusMetrics";
import { infraDir } from "./nix";

const monitoring = (file: string) => path.join(infraDir, "monitoring", file);

function evalJson<T>(file: string): T {
  const r = spawnSync("nix-instantiate", ["--eval", "--strict", "--json", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}

const rules = () =>
  evalJson<{ groups: { name: string; rules: Rule[] }[] }>(monitoring("alert-rules.nix")).groups.flatMap((g) => g.rules);

/** Metric name → label names, from a real exposition with one row of each kind. */
function exported(): Map<string, Set<string>> {
  const text = exposition([
    {
      route: "nar",
      cache_status: "HIT",
      origin: "edge",
      status_class: 2,
      verification: "forged",
      rejected_by: "s3",
      requests: 1,
      bytes: 1,
    },
  ]);
  const metrics = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? /.exec(line);
    if (!m) continue;
    const names = new Set([...(m[2] ?? "").matchAll(/([a-z_]+)="/g)].map((x) => x[1]!));
    metrics.set(m[1]!, names);
  }
  return metrics;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} -]/gu, "")
        .replace(/ /g, "-"),
    ),
  );
}

describe("infra/monitoring", () => {
  it("the alert rules cover 5xx ratio, origin failure ratio and signature failures, with severity and runbook", () => {
    const byName = new Map(rules().map((r) => [r.alert, r]));
    expect(byName.get("NixCacheEdge5xxRatio")?.expr).toMatch(/status_class="5xx"/);
    expect(byName.get("NixCacheEdgeOriginFailureRatio")?.expr).toMatch(/origin="none"/);
    expect(byName.get("NixCacheEdgeSignatureFailures")?.expr).toMatch(/> 0$/);
    const runbook = anchors(readFileSync(path.join(infraDir, "..", "docs", "runbook.md"), "utf8"));
    for (const rule of byName.values()) {
      expect(["page", "ticket"]).toContain(rule.labels.severity);
      const [file, anchor] = rule.annotations.runbook.split("#");
      expect(file).toBe("docs/runbook.md");
      expect(runbook, `${rule.alert}: no heading for #${anchor} in docs/runbook.md`).toContain(anchor);
    }
  });

  it("every nix_cache_edge metric and label a rule uses is exported by the admin worker", () => {
    const metrics = exported();
    for (const rule of rules()) {
      for (const m of rule.expr.matchAll(/(nix_cache_edge_[a-z_]+)(?:\{([^}]*)\})?/g)) {
        const labels = metrics.get(m[1]!);
        expect(labels, `${rule.alert}: ${m[1]} is not exported`).toBeDefined();
        for (const l of (m[2] ?? "").matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g))
          expect(labels, `${rule.alert}: ${m[1]} has no label ${l[1]}`).toContain(l[1]);
      }
      for (const m of rule.expr.matchAll(/by \(([^)]*)\) \((nix_cache_edge_[a-z_]+)/g)) {
        for (const l of m[1]!.split(",").map((s) => s.trim())) expect(metrics.get(m[2]!)).toContain(l);
      }
    }
  });

  it("every job a rule names is scraped by the module, and every probe module it uses exists", () => {
    const moduleText = readFileSync(monitoring("cache-monitoring.nix"), "utf8");
    const jobs = new Set([...moduleText.matchAll(/job_name = "([^"]+)"|probeJob "([^"]+)"/g)].map((m) => m[1] ?? m[2]));
    for (const rule of rules()) for (const m of rule.expr.matchAll(/job="([^"]+)"/g)) expect(jobs).toContain(m[1]);
    const blackbox = evalJson<{ modules: Record<string, { prober: string }> }>(monitoring("blackbox.nix"));
    for (const m of moduleText.matchAll(/probeJob "[^"]+" "([^"]+)"/g))
      expect(Object.keys(blackbox.modules)).toContain(m[1]);
    expect(spawnSync("nix-instantiate", ["--parse", monitoring("cache-monitoring.nix")]).status).toBe(0);
  });

  it("the health probe's body check matches what GET /health answers (src/serve/health.ts)", () => {
    const blackbox = evalJson<{ modules: Record<string, { http: { fail_if_body_not_matches_regexp: string[] } }> }>(
      monitoring("blackbox.nix"),
    );
    const [pattern] = blackbox.modules.nix_cache_health!.http.fail_if_body_not_matches_regexp;
    const source = readFileSync(path.join(infraDir, "..", "src", "serve", "health.ts"), "utf8");
    expect(source).toContain("JSON.stringify({");
    expect(JSON.stringify({ status: "ok", origins: [{ name: "r2:NAR_BUCKET", breaker: "closed" }] })).toMatch(
      new RegExp(pattern!),
    );
  });
});
