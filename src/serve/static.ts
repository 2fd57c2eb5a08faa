/** Answers the worker makes itself: nix-cache-info from config, and a landing page for people. */
import { formatNixCacheInfo } from "../narinfo/nixCacheInfo";
import { baseHeaders, type RequestContext } from "./context";

function reply(rc: RequestContext, body: string, contentType: string): Response {
  const headers = baseHeaders(rc, "BYPASS");
  headers.set("content-type", contentType);
  headers.set("cache-control", "public, max-age=3600");
  headers.set("content-length", String(new TextEncoder().encode(body).byteLength));
  return new Response(rc.method === "HEAD" ? null : body, { status: 200, headers });
}

export function serveCacheInfo(rc: RequestContext): Response {
  return reply(rc, formatNixCacheInfo(rc.config.cacheInfo), "text/x-nix-cache-info");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function serveLanding(rc: RequestContext): Response {
  const url = new URL(rc.request.url);
  const base = escapeHtml(rc.config.publicUrl ?? url.origin);
  const keys = escapeHtml(rc.config.trustedKeys.map((k) => k.name).join(", "));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Nix binary cache</title></head>
<body>
<h1>Nix binary cache</h1>
<p>This is a
<a href="https://nixos.org/manual/nix/stable/package-management/binary-cache-substitute">Nix binary cache</a>.
It serves signed store paths to Nix clients; there is nothing to browse here.</p>
<p>To use it, add to <code>nix.conf</code> (or <code>nix.settings</code> on NixOS):</p>
<pre>substituters = ${base}
trusted-public-keys = &lt;the cache's public key&gt;</pre>
<p>Narinfos served here are signed by a key named: ${keys}. Get the public key itself from the cache's operators,
not from this page.</p>
</body></html>
`;
  return reply(rc, html, "text/html; charset=utf-8");
}
