# The inventory: the single source of truth for hosts, domains and mail.
#
# Everything else is derived from this file by infra/lib (plain Nix, no nixpkgs):
#   - Hydra's machines file           lib/machines.nix
#   - DNS records, zone files, the Cloudflare API's JSON   lib/dns.nix
#   - the Cloudflare resources the workers need            lib/cloudflare.nix
#   - Hydra's store_uri                lib/hydra.nix
#   - the NixOS configurations         flake.nix + modules/
# and checked by lib/validate.nix before any of that is produced.
#
# EXAMPLE DATA. `example-nix.org`/`example-nix.net`, the addresses (RFC 5737 / RFC 3849
# documentation ranges) and every key below are placeholders for this repository's examples;
# replace them all before a real deployment.
{
  # Hosts are named <name>.<domain>; the workers' hostnames live in this zone too.
  domain = "example-nix.org";

  domains = {
    "example-nix.org" = {
      mail = true;
      # p= of the DKIM TXT record. The private half is secrets/dkim-<domain>-<selector>.age
      # (README "Secrets"), so a rebuilt mail host signs with the key DNS publishes.
      # null leaves the DKIM record out of DNS (with a warning) until the key exists.
      dkimPublicKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyuKbEdU6N91tJTlbWp06mvrHLPTV0VBJHN7sioZVc14PR/8VasBv"
        + "evMduveOGb4RNhDWysfSdqgA1RT2tQD+MVcIjSa2J40E5iYiLNJpgmK+Piv6ATMw7Tmxfr+1JxhPCdbWmBEUswndt6S16ph1"
        + "qjyQIhSSS3NbjTA6HxsvHkQyZVUtdaMaoyj2DEyH6YmFHR4pl6i2+cC/X7weQBjtsSMoqvvfJDhUB+5VmXath0CyVQIHHI3C"
        + "yKRz0ALtCn758oBjKhsoFcqI3yEDcIYpmftorAcMpWg+NtjLL0qI2ZedFCoNNgImPTmwqZ8pr5oTr92cJhCPqz8C4802MeA2"
        + "rQIDAQAB";
    };
    "example-nix.net" = {
      mail = true;
      dkimPublicKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApvI3/K1cSodHhzg2aWaP8ab0XOFzxbeUVljFVXSt87iuvq4syEmO"
        + "vspjoq2gFIPsrXTCDd4NX+l1a8lothxmC3duqfKxwWN4NtsWzYjlb8vXLLWW35dbWGjvpw9J8004DldoiynNRIB0il7vB5WD"
        + "7QV4qViD3o17KLNVfAwHAlR+cRUHkbsow8mMxSxXxlctNgPRHyG4VLlN4+hL4Xd9HDs7glpw++TtLLFyFKCTdGp93L9DDNv9"
        + "arc9sy26Kku4GILYP9OC2t9hCpOCpC2eGvfV2rzIs6jFXV633WD+iuPMUdJh6fO2BzUdjbqIUu9k4F+uLaY/0/H7w1vzFZGQ"
        + "vwIDAQAB";
    };
  };

  dns = {
    ttl = 3600;
    # CAA (RFC 8659): only these CAs may issue for our names. letsencrypt.org serves the
    # hosts' ACME certificates (Hydra's nginx, the mail server). Cloudflare's edge
    # certificates for the proxied worker hostnames come from its own CAs; Cloudflare adds
    # their CAA records itself when Universal SSL is on, listed here anyway so the zone file
    # is complete on any DNS provider.
    caaIssuers = [ "letsencrypt.org" "pki.goog" "ssl.com" ];
  };

  mail = {
    # One selector for every domain (mailserver.dkim.domains.<d>.selectors.<this>).
    dkimSelector = "mail";
    # Forwarding only: this server has no mailboxes, so every address is an alias that ends
    # at an external mailbox. RFC 5321 §4.5.1 requires postmaster@ for every mail domain.
    aliases = {
      "postmaster@example-nix.org" = [ "infra@example-nix.org" ];
      "abuse@example-nix.org" = [ "infra@example-nix.org" ];
      "infra@example-nix.org" = [ "alice@example.com" "bob@example.net" ];
      "security@example-nix.org" = [ "alice@example.com" ];
      "postmaster@example-nix.net" = [ "postmaster@example-nix.org" ];
      "hello@example-nix.net" = [ "bob@example.net" ];
    };
  };

  cache = {
    # Public keys clients trust (nix.conf trusted-public-keys). During a key rotation both
    # the old and the new key are listed; see README "Rotating the cache signing key".
    publicKeys = [ "cache.example-nix.org-1:TOMtERgstyYYEJByjd/gdugFSiky7Kj1NhhNxx41uJk=" ];
    # Keys of paths the workers serve that this Hydra did not build: the S3 origins behind R2
    # hold cache.nixos.org's paths. The workers' TRUSTED_PUBLIC_KEYS is publicKeys followed by
    # these (test/workers.test.ts fails on any difference); our hosts trust publicKeys only.
    upstreamPublicKeys = [ "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=" ];
  };

  # The Cloudflare side. OpenTofu creates these (cloudflare/, rendered from this file), and
  # wrangler.toml / wrangler.admin.toml must name the same things: test/workers.test.ts
  # compares every per-environment value there with this file.
  cloudflare = {
    # Not a secret (it is part of the R2 endpoint), but must be the real account's id.
    accountId = "0123456789abcdef0123456789abcdef";
    # Zones are created by hand (registrar, NS delegation); their ids are what the DNS
    # records, the custom domains and the admin worker's CLOUDFLARE_ZONE_ID refer to.
    zoneIds = {
      "example-nix.org" = "00000000000000000000000000000010";
      "example-nix.net" = "00000000000000000000000000000011";
    };
    # OpenTofu's state (an R2 bucket, S3 backend), created once by hand: see README.
    stateBucket = "example-nix-tofu-state";
    environments = {
      production = {
        cacheWorker = "nix-cache-edge";
        adminWorker = "nix-cache-admin";
        cacheHostname = "cache"; # cache.<domain>
        adminHostname = "cache-admin";
        bucket = "nix-cache"; # NAR_BUCKET; Hydra uploads here
        denylistNamespace = "nix-cache-denylist"; # DENYLIST
        auditDatabase = "nix-cache-audit"; # AUDIT
        # Ids Cloudflare assigns on creation (`tofu output`); the workers' configs carry them.
        denylistNamespaceId = "00000000000000000000000000000002";
        auditDatabaseId = "00000000-0000-0000-0000-000000000012";
      };
      # `wrangler deploy --env staging` names the scripts <name>-staging.
      staging = {
        cacheWorker = "nix-cache-edge-staging";
        adminWorker = "nix-cache-admin-staging";
        cacheHostname = "cache-staging";
        adminHostname = "cache-admin-staging";
        bucket = "nix-cache-staging";
        denylistNamespace = "nix-cache-denylist-staging";
        auditDatabase = "nix-cache-audit-staging";
        denylistNamespaceId = "00000000000000000000000000000001";
        auditDatabaseId = "00000000-0000-0000-0000-000000000011";
      };
    };
  };

  # Who may log in as root (deploys use root@host).
  admins = {
    alice.sshKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPWpdBIiJ3KsTS4pwuRbYagrsLP81AGFyVcFJgOiKVWM alice" ];
  };

  monitoring = {
    # Prometheus servers allowed to scrape the exporters; nothing else reaches them.
    scrapers = [ "2001:db8:ffff::9" ];
  };

  deploy = {
    # Hosts upgrade themselves from this flake (system.autoUpgrade); see modules/common.nix.
    flake = "github:example-nix/infra?dir=infra";
  };

  # Every host states `stateVersion`: the NixOS release it was first installed with
  # (system.stateVersion). Required, and never changed after installation.
  hosts = {
    hydra = {
      role = "hydra";
      provider = "hetzner-cloud";
      ipv4 = "203.0.113.10";
      ipv6 = "2001:db8:10::1";
      systems = [ "x86_64-linux" ];
      hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqc6IlNuPyu5bzNBc9RtJQzMOqo94IaqVjnr8DCfHXd";
      # hydra-queue-runner's own key (the client side of every build connection); builders
      # authorise it for the nix-ssh user only.
      queueRunnerKey =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNYFeO/bjuWPGLPHlEV4zGJ3Nf5E6ubftQzHiGCHOVV hydra-queue-runner";
      stateVersion = "25.05";
    };

    builder-x86-01 = {
      role = "builder";
      provider = "hetzner-cloud";
      ipv4 = "203.0.113.21";
      ipv6 = "2001:db8:21::1";
      systems = [ "x86_64-linux" "i686-linux" ];
      maxJobs = 8;
      speedFactor = 2;
      supportedFeatures = [ "kvm" "nixos-test" "big-parallel" "benchmark" ];
      mandatoryFeatures = [ ];
      hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPA1V/3GdJXiVfl1hVMDXAI3YCR1E9oQzTfoQPdpQnuK";
      stateVersion = "25.05";
    };

    builder-arm-01 = {
      role = "builder";
      provider = "hetzner-cloud";
      ipv4 = "203.0.113.22";
      ipv6 = "2001:db8:22::1";
      systems = [ "aarch64-linux" ];
      maxJobs = 4;
      speedFactor = 1;
      supportedFeatures = [ "big-parallel" ];
      mandatoryFeatures = [ ];
      hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKSWaHKjRYiQEYzS8CxTenWb4Ol2kCo6eq5/rfdAACXi";
      stateVersion = "25.05";
    };

    mail = {
      role = "mail";
      provider = "hetzner-cloud";
      ipv4 = "203.0.113.30";
      ipv6 = "2001:db8:30::1";
      systems = [ "x86_64-linux" ];
      hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1AeV4nzR98WrwbLOuBwF9+eRRga0poQe/rdeQEAODw";
      stateVersion = "25.05";
      # simple-nixos-mailserver's own state version (mailserver.stateVersion): the layout of
      # its data on this host. Required; raise it only by following that release's notes.
      mailserverStateVersion = 3;
    };
  };
}
