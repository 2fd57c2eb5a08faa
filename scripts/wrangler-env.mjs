// Wrangler phones home (metrics, update check, cf.json); without internet it then waits ~40 s
// (docs/toolchain.md, "Wrangler without a network"). Every script and test that starts wrangler uses these.
export const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};
