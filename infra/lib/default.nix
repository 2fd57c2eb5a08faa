# The infra library: inventory in, everything derived out. Plain builtins only, so that
# `nix-instantiate --eval` evaluates it offline (CI has no nixpkgs) and the flake, the
# Cloudflare script and deploy.sh all read the same values.
#
#   import ./lib { inventory = import ./inventory.nix; }
#
# Every output is guarded by validation: a bad inventory throws one error listing all
# problems instead of producing half-right DNS or a machines file missing a builder.
{ inventory }:
let
  inherit (builtins) attrNames attrValues concatStringsSep filter head isList length listToAttrs mapAttrs readDir sort;

  # Providers are whatever modules/providers/ holds, so a typo in `provider` is caught here
  # rather than as a missing-file error deep inside nixosSystem.
  providers = map (f: builtins.replaceStrings [ ".nix" ] [ "" ] f)
    (filter (f: builtins.match ".*\\.nix" f != null) (attrNames (readDir ../modules/providers)));

  fqdn = name: "${name}.${inventory.domain}";

  # Defaults, in one place. Builders must set hostKey/maxJobs/speedFactor explicitly where
  # the default would be wrong; validation says so.
  normaliseHost = name: h: {
    inherit name;
    fqdn = fqdn name;
    role = h.role or null;
    provider = h.provider or null;
    ipv4 = h.ipv4 or null;
    ipv6 = h.ipv6 or null;
    systems = h.systems or [ ];
    # The native platform is the first system; the others are extra-platforms (e.g. i686
    # on x86_64) that the builder runs natively without emulation.
    system = let s = h.systems or [ ]; in if isList s && s != [ ] then head s else null;
    maxJobs = h.maxJobs or 1;
    speedFactor = h.speedFactor or 1;
    cores = h.cores or 0; # 0: each build may use all cores (nix.conf `cores`)
    supportedFeatures = h.supportedFeatures or [ ];
    mandatoryFeatures = h.mandatoryFeatures or [ ];
    hostKey = h.hostKey or null;
    queueRunnerKey = h.queueRunnerKey or null;
    # Required (validation says so): a silent default would change the state layout of a
    # host installed with another release.
    stateVersion = h.stateVersion or null;
    mailserverStateVersion = h.mailserverStateVersion or null;
    # Free space every host keeps: when free space drops below minFree, the Nix daemon
    # collects garbage until maxFree is free (nix.conf min-free/max-free), so a full store
    # never stops Hydra's queue (hydra-check-space) or a builder mid-build.
    # Defaults by role: Hydra stops queueing below services.hydra.minimumDiskFree (50 GiB,
    # modules/hydra.nix), so its store is collected well before that; the mail host is small.
    gc = {
      builder = { minFreeGiB = 50; maxFreeGiB = 200; deleteOlderThan = "3d"; };
      hydra = { minFreeGiB = 100; maxFreeGiB = 300; deleteOlderThan = "14d"; };
      mail = { minFreeGiB = 5; maxFreeGiB = 20; deleteOlderThan = "14d"; };
    }.${h.role or ""} or { minFreeGiB = 5; maxFreeGiB = 20; deleteOlderThan = "14d"; } // (h.gc or { });
  };

  hosts = mapAttrs normaliseHost (inventory.hosts or { });

  mailDomains = filter (d: inventory.domains.${d}.mail or false) (attrNames (inventory.domains or { }));

  environments = inventory.cloudflare.environments or { };
  workerHostnames = builtins.concatMap
    (env: [
      {
        inherit env; kind = "cache";
        fqdn = fqdn environments.${env}.cacheHostname; script = environments.${env}.cacheWorker;
      }
      {
        inherit env; kind = "admin";
        fqdn = fqdn environments.${env}.adminHostname; script = environments.${env}.adminWorker;
      }
    ])
    (attrNames environments);

  hostsOfRole' = role: filter (h: h.role == role) (map (n: hosts.${n}) (attrNames hosts));
  secrets = import ./secrets.nix { inherit inventory hosts mailDomains; hostsOfRole = hostsOfRole'; };

  errors = import ./validate.nix {
    inherit inventory hosts providers workerHostnames mailDomains;
    inherit (secrets) secrets;
  };
  checked = value:
    if errors == [ ] then value
    else throw "inventory is invalid:\n  - ${concatStringsSep "\n  - " errors}";

  hostsOfRole = hostsOfRole';
  view = {
    inherit inventory hosts fqdn mailDomains workerHostnames hostsOfRole secrets;
    inherit (inventory) domain;
  };

  machines = import ./machines.nix view;
  dns = import ./dns.nix view;
  hydra = import ./hydra.nix view;
  tofu = import ./tofu.nix (view // { inherit dns; });
in
mapAttrs (_: checked) {
  inherit hosts mailDomains;
  inherit (view) domain;
  inventory = inventory;

  machinesFile = machines.text;
  inherit (dns) records zoneFiles warnings;
  # OpenTofu configuration (JSON syntax) for every Cloudflare resource: cloudflare/tf.sh.
  inherit tofu;
  # What wrangler.toml / wrangler.admin.toml must say per environment (test/workers.test.ts).
  workers = import ./workers.nix view;
  # { storeUri; config (hydra.conf lines); signingKeyFile; credentialsFile; publicCache; }
  inherit hydra;
  secrets = secrets.secrets;
  secretsFor = builtins.mapAttrs (name: _: secrets.forHost name) hosts;
  inherit (secrets) agenixRules;

  mailForwards = import ./mail.nix view;
  adminKeys = builtins.concatMap (a: a.sshKeys or [ ]) (attrValues (inventory.admins or { }));
  hydraKeys = map (h: h.queueRunnerKey) (hostsOfRole "hydra");

  # What deploy.sh needs: one line per host, "<name> <role> <system> <ssh target>", ordered so
  # builders go first and Hydra last (it should only see builders already on the new config).
  deployTargets = mapAttrs (_: h: { inherit (h) role system; target = "root@${h.fqdn}"; }) hosts;
  deployList =
    let
      rank = { builder = 0; mail = 1; hydra = 2; };
      ordered = sort
        (a: b: if rank.${a.role} != rank.${b.role} then rank.${a.role} < rank.${b.role} else a.name < b.name)
        (attrValues hosts);
    in
    concatStringsSep "" (map (h: "${h.name} ${h.role} ${h.system} root@${h.fqdn}\n") ordered);
}
