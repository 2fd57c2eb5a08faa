# What the workers' per-environment configuration must say, derived from the inventory.
# wrangler.toml (cache worker) and wrangler.admin.toml (admin worker) are written by hand
# because they also hold settings that are not infrastructure (TTLs, origins); every value
# below is compared with them by test/workers.test.ts, which fails on any difference.
{ inventory, fqdn, domain, ... }:
let
  cache = inventory.cache or { };
  # The cache worker serves a narinfo only with a valid signature by one of these: our
  # Hydra's key(s) first, then the keys of the upstream paths its S3 origins hold.
  trustedPublicKeys = builtins.concatStringsSep " " ((cache.publicKeys or [ ]) ++ (cache.upstreamPublicKeys or [ ]));
in
builtins.mapAttrs
  (env: e:
    let
      publicUrl = "https://${fqdn e.cacheHostname}";
      bindings = {
        r2_buckets.NAR_BUCKET = e.bucket;
        kv_namespaces.DENYLIST = e.denylistNamespaceId or null;
      };
    in
    {
      cache = bindings // {
        name = e.cacheWorker;
        vars = { TRUSTED_PUBLIC_KEYS = trustedPublicKeys; PUBLIC_URL = publicUrl; };
      };
      admin = bindings // {
        name = e.adminWorker;
        # The admin worker purges the cache worker's URLs, on the zone that holds them.
        vars = {
          TRUSTED_PUBLIC_KEYS = trustedPublicKeys;
          PUBLIC_URL = publicUrl;
          CLOUDFLARE_ZONE_ID = inventory.cloudflare.zoneIds.${domain} or null;
        };
        d1_databases.AUDIT = { database_name = e.auditDatabase; database_id = e.auditDatabaseId or null; };
      };
    })
  (inventory.cloudflare.environments or { })
