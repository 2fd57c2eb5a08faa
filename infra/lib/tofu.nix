# Inventory -> OpenTofu configuration in JSON syntax (main.tf.json), for every Cloudflare
# resource the workers and the hosts need: R2 buckets (with their lifecycle), KV namespaces,
# D1 databases, the workers' custom domains and every DNS record of lib/dns.nix.
#
# State-based: OpenTofu compares this with its state and the real account, so a record or
# resource removed from the inventory is destroyed by the next apply, and a changed record is
# updated in place (a DNS record's resource name depends on its name and type, not its content;
# see `key` in lib/dns.nix). cloudflare/tf.sh renders this and runs `tofu plan` before
# `apply`. Provider: cloudflare/cloudflare 5.x (resource names and attributes of that major).
{ inventory, domain, fqdn, workerHostnames, dns, ... }:
let
  inherit (builtins) attrNames concatMap listToAttrs map replaceStrings;
  cf = inventory.cloudflare;
  envs = cf.environments;
  accountId = cf.accountId;
  zoneId = zone: cf.zoneIds.${zone};
  # Resource names: letters, digits, '_' and '-'.
  label = s: replaceStrings [ "." "@" "*" ":" "/" " " ] [ "_" "_" "_" "_" "_" "_" ] s;
  perEnv = f: listToAttrs (map (env: f env envs.${env}) (attrNames envs));

  # Abandoned multipart uploads (the cache worker's backfill streams large NARs into R2 as
  # multipart uploads) hold storage until aborted. Uploads take minutes, so a day is ample.
  abortMultipartAfterSeconds = 86400;

  records = listToAttrs (map
    (r: {
      name = r.key;
      value = {
        zone_id = zoneId r.zone;
        inherit (r) name type ttl comment;
      }
      // (if r.data != null then { inherit (r) data; } else { inherit (r) content; })
      // (if r.priority != null then { inherit (r) priority; } else { })
      // (if builtins.elem r.type [ "A" "AAAA" "CNAME" ] then { inherit (r) proxied; } else { });
    })
    dns.records);
in
{
  terraform = {
    required_version = ">= 1.10.0";
    required_providers.cloudflare = { source = "cloudflare/cloudflare"; version = "~> 5.0"; };
    # State lives in an R2 bucket created once by hand (README); R2 speaks S3. use_lockfile:
    # OpenTofu's own lock object beside the state, so two applies never interleave.
    backend.s3 = {
      bucket = cf.stateBucket;
      key = "infra/cloudflare.tfstate";
      region = "auto";
      endpoints.s3 = "https://${accountId}.r2.cloudflarestorage.com";
      use_lockfile = true;
      use_path_style = true;
      skip_credentials_validation = true;
      skip_region_validation = true;
      skip_requesting_account_id = true;
      skip_metadata_api_check = true;
      skip_s3_checksum = true;
    };
  };
  # The API token comes from CLOUDFLARE_API_TOKEN (cloudflare/tf.sh), never from this file.
  provider.cloudflare = { };

  resource = {
    cloudflare_r2_bucket = perEnv (env: e: { name = env; value = { account_id = accountId; name = e.bucket; }; });
    cloudflare_r2_bucket_lifecycle = perEnv (env: e: {
      name = env;
      value = {
        account_id = accountId;
        bucket_name = "\${cloudflare_r2_bucket.${env}.name}";
        rules = [{
          id = "abort-incomplete-multipart-uploads";
          enabled = true;
          conditions.prefix = "";
          abort_multipart_uploads_transition.condition = { type = "Age"; max_age = abortMultipartAfterSeconds; };
        }];
      };
    });
    cloudflare_workers_kv_namespace =
      perEnv (env: e: { name = env; value = { account_id = accountId; title = e.denylistNamespace; }; });
    cloudflare_d1_database =
      perEnv (env: e: { name = env; value = { account_id = accountId; name = e.auditDatabase; }; });
    # Each worker hostname is a Workers Custom Domain: Cloudflare creates its DNS record and
    # certificate, so lib/dns.nix has no record of ours under these names. This is the only
    # writer: the wrangler configs declare no routes (test/workers.test.ts).
    cloudflare_workers_custom_domain = listToAttrs (map
      (w: {
        name = "${w.env}_${w.kind}";
        value = {
          account_id = accountId; zone_id = zoneId domain; hostname = w.fqdn; service = w.script;
          environment = "production";
        };
      })
      workerHostnames);
    cloudflare_dns_record = records;
  };

  # The ids the wrangler configs need (and the inventory records): `tofu output`.
  output =
    perEnv (env: e: {
      name = "${env}_denylist_namespace_id";
      value.value = "\${cloudflare_workers_kv_namespace.${env}.id}";
    })
    // perEnv (env: e: { name = "${env}_audit_database_id"; value.value = "\${cloudflare_d1_database.${env}.id}"; });
}
