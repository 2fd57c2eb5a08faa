# Hydra's binary cache settings, derived from the inventory.
#
# store_uri is where hydra-queue-runner uploads every build output: the same R2 bucket the
# cache worker serves (binding NAR_BUCKET), through R2's S3 API. Query parameters are Nix
# store settings (`nix help-stores`, "S3 Binary Cache Store"):
#   endpoint/region   R2's S3 endpoint is per account; R2 ignores the region but the SDK
#                     signs with one, and "auto" is what R2 documents.
#   secret-key        path of the cache signing key on the Hydra host (where agenix decrypts
#                     it, ../secrets.nix); never the key itself, which would land in the
#                     world-readable store.
#   write-nar-listing .ls files, so `nix store ls` / nix-index work against the cache.
#   compression, ls-compression, log-compression = zstd: what cache.nixos.org's Hydra
#                     uploads since 2025; the worker passes Content-Encoding through.
# The S3 credentials are not in the URI: the AWS SDK reads AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY from the environment file named in modules/hydra.nix.
{ inventory, domain, secrets, ... }:
let
  production = inventory.cloudflare.environments.production;
  signingKeyFile = secrets.secrets.cache-signing-key.path;
  credentialsFile = secrets.secrets.r2-credentials.path;
  publicCache = "https://${production.cacheHostname}.${domain}";
  # hydra-server (user hydra-www, group hydra) keeps NARs it read through the public cache
  # here; modules/hydra.nix creates it group-writable, as NixOS/infra's build/hydra.nix does.
  narCache = "/var/cache/hydra/nar-cache";

  query = builtins.concatStringsSep "&" [
    "endpoint=${inventory.cloudflare.accountId}.r2.cloudflarestorage.com"
    "region=auto"
    "secret-key=${signingKeyFile}"
    "write-nar-listing=1"
    "compression=zstd"
    "ls-compression=zstd"
    "log-compression=zstd"
  ];
  storeUri = "s3://${production.bucket}?${query}";
in
{
  inherit storeUri signingKeyFile credentialsFile publicCache narCache;
  # hydra.conf lines (services.hydra.extraConfig).
  config = ''
    store_uri = ${storeUri}
    # Links and "nix copy" instructions in the web UI point at the public cache.
    binary_cache_public_uri = ${publicCache}
    # Build logs go to the bucket too (log/<drv>), served by the worker like narinfos.
    upload_logs_to_binary_cache = true
    # Logs are already zstd-compressed by log-compression above; Hydra's own compression
    # conflicts with uploading them (as NixOS/infra's build/hydra.nix notes).
    compress_build_logs = false
    log_prefix = ${publicCache}/
    # The web frontend reads store paths through the public cache, not with R2 credentials.
    server_store_uri = ${publicCache}?local-nar-cache=${narCache}
  '';
}
