# The Cloudflare resources the workers need, as data for infra/cloudflare/provision.mjs.
# Names match the bindings in wrangler.toml / wrangler.admin.toml:
#   NAR_BUCKET -> R2 bucket, DENYLIST -> KV namespace, AUDIT -> D1 database.
{ inventory, domain, workerHostnames, dns, ... }:
let
  inherit (builtins) attrNames map;
  envs = inventory.cloudflare.environments;
  perEnv = f: map (env: f env envs.${env}) (attrNames envs);
in
{
  inherit (inventory.cloudflare) accountId;
  r2Buckets = perEnv (env: e: {
    inherit env; name = e.bucket; binding = "NAR_BUCKET";
    why = "NARs, narinfos, .ls and logs; Hydra uploads, the cache worker reads";
  });
  kvNamespaces = perEnv (env: e: {
    inherit env; title = e.denylistNamespace; binding = "DENYLIST";
    why = "store-path hashes the cache worker refuses to serve; the admin worker writes it";
  });
  d1Databases = perEnv (env: e: {
    inherit env; name = e.auditDatabase; binding = "AUDIT";
    why = "the admin worker's audit trail";
  });
  # Each worker hostname is a Workers Custom Domain declared in wrangler.toml and attached by
  # `wrangler deploy` (which also creates its DNS record and certificate). One writer per
  # resource: provision.mjs only checks these, and says which deploy is missing.
  customDomains = map
    (w: {
      inherit (w) env;
      hostname = w.fqdn;
      service = w.script;
      zone = domain;
      why = "${w.kind} worker for ${w.env}";
    })
    workerHostnames;
  dns = dns.cloudflare;
  inherit (dns) warnings;
}
