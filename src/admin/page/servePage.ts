/**
 * The admin page (docs/observability.md, "The admin page"): a static document, its stylesheet and its bundled
 * script, served without authentication because they hold no data; everything shown comes from the API with the
 * token the user types. The CSP allows only this origin's script, stylesheet and API calls: no inline script or
 * style, no framing, no other hosts.
 */
import { APP_JS } from "./bundle.gen";
import { PAGE_HTML } from "./html";
import { PAGE_CSS } from "./styles";

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const FILES: Record<string, { body: string; type: string }> = {
  "/": { body: PAGE_HTML, type: "text/html; charset=utf-8" },
  "/page/app.js": { body: APP_JS, type: "text/javascript; charset=utf-8" },
  "/page/app.css": { body: PAGE_CSS, type: "text/css; charset=utf-8" },
};

export function servePage(request: Request): Response | undefined {
  const file = FILES[new URL(request.url).pathname];
  if (!file) return undefined;
  return new Response(request.method === "HEAD" ? null : file.body, {
    headers: {
      "content-type": file.type,
      "content-security-policy": PAGE_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      // A new deploy must not meet an old cached script.
      "cache-control": "no-cache",
    },
  });
}
