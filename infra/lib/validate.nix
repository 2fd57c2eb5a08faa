# Inventory validation: returns the list of problems (empty when the inventory is sound).
# lib/default.nix throws them all at once, so one evaluation shows every mistake, each
# naming the host, address or alias at fault and what to do about it.
#
# Input is the normalised view built by lib/default.nix (defaults filled in, fqdn computed).
{ inventory, hosts, providers, workerHostnames, mailDomains, secrets }:
let
  inherit (builtins) all any attrNames attrValues concatLists concatMap concatStringsSep elem elemAt filter
    genList head isInt isList isString length listToAttrs match sort tail toJSON;

  net = import ./net.nix;

  q = toJSON; # quote names in messages the way they appear in inventory.nix
  hostList = attrValues hosts;
  ofRole = role: filter (h: h.role == role) hostList;
  roles = [ "hydra" "builder" "mail" ];

  # [ { key; owner; label ? key; } ] -> one message per key claimed by more than one owner.
  # `key` is what is compared (a canonical form), `label` what the message shows.
  duplicates = what: claims:
    let
      keys = attrNames (listToAttrs (map (c: { name = c.key; value = null; }) claims));
      claimsOf = k: filter (c: c.key == k) claims;
    in
    concatMap
      (k: let cs = claimsOf k; in
        if length cs > 1
        then [ ("duplicate ${what} ${(head cs).label or k}: claimed by "
          + concatStringsSep " and " (map (c: c.owner) cs)) ]
        else [ ])
      keys;

  # Host names become DNS labels (<name>.<domain>) and NixOS hostNames: RFC 1123 labels,
  # lowercase so that two names never differ only by case (DNS is case-insensitive).
  isLabel = n: match "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?" n != null;
  isSystem = s: isString s && match "[a-z0-9_]+-[a-z0-9]+" s != null;
  isHostKey = k: isString k && match "(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/]+=*" k != null;
  isPubKeyLine = k:
    isString k
    && match ("(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa|sk-ssh-ed25519@openssh.com)" + " [A-Za-z0-9+/]+=*( .*)?") k
      != null;
  isPositiveInt = n: isInt n && n > 0;
  isAddress = a: isString a && match "[^@ ]+@[a-z0-9.-]+" a != null;
  domainOf = a: elemAt (match "[^@]+@(.*)" a) 0;

  hostErrors = h:
    let
      who = "host ${q h.name}";
    in
    (if isLabel h.name then [ ]
     else [ "${who}: name is not a DNS label (lowercase letters, digits and '-', at most 63)" ])
    ++ (if elem h.role roles then [ ] else [ "${who}: role ${q h.role} is not one of ${concatStringsSep ", " roles}" ])
    ++ (if elem h.provider providers then [ ]
        else [ ("${who}: provider ${q h.provider} has no module in modules/providers/ "
          + "(known: ${if providers == [ ] then "none" else concatStringsSep ", " providers})") ])
    ++ (if h.ipv4 == null && h.ipv6 == null then [ "${who}: no address (set ipv4 and/or ipv6)" ] else [ ])
    ++ (if h.ipv4 != null && net.parseIPv4 h.ipv4 == null
        then [ "${who}: ipv4 ${q h.ipv4} is not an IPv4 address" ] else [ ])
    ++ (if h.ipv6 != null && net.parseIPv6 h.ipv6 == null
        then [ "${who}: ipv6 ${q h.ipv6} is not an IPv6 address" ] else [ ])
    ++ (if !isList h.systems || h.systems == [ ]
        then [ "${who}: no systems (list at least its own platform, e.g. \"x86_64-linux\")" ]
        else concatMap
          (s: if isSystem s then [ ] else [ "${who}: system ${q s} is not a Nix system such as \"aarch64-linux\"" ])
          h.systems)
    ++ (if h.hostKey != null && !isHostKey h.hostKey
        then [ "${who}: hostKey must be \"<type> <base64>\" as printed by `ssh-keyscan`, without a comment" ] else [ ])
    ++ (if h.stateVersion == null
        then [ ("${who}: stateVersion missing; set it to the NixOS release the host was first installed with "
          + "(e.g. \"26.05\") and never change it") ]
        else if !(isString h.stateVersion && match "[0-9]{2}\\.[0-9]{2}" h.stateVersion != null)
        then [ "${who}: stateVersion ${q h.stateVersion} is not a NixOS release such as \"26.05\"" ] else [ ])
    ++ (if h.role == "mail" && !isPositiveInt h.mailserverStateVersion
        then [ ("${who}: mailserverStateVersion missing or not a positive integer "
          + "(simple-nixos-mailserver's mailserver.stateVersion)") ]
        else [ ])
    ++ (let mine = filter (s: elem h.name s.hosts) (attrValues secrets); in
        if mine != [ ] && !(isString h.hostKey && match "ssh-ed25519 .*" h.hostKey != null)
        then [ ("${who}: decrypts secrets (${concatStringsSep ", " (map (s: s.name) mine)}) but has no ssh-ed25519 "
          + "hostKey; agenix decrypts with it and the secrets are encrypted for it") ]
        else [ ])
    ++ (if isPositiveInt h.gc.minFreeGiB && isPositiveInt h.gc.maxFreeGiB && h.gc.minFreeGiB < h.gc.maxFreeGiB then [ ]
        else [ "${who}: gc.minFreeGiB and gc.maxFreeGiB must be positive integers with minFreeGiB below maxFreeGiB" ])
    ++ (if h.role == "builder" then builderErrors h else [ ])
    ++ (if h.role == "hydra" && !isPubKeyLine h.queueRunnerKey
        then [ "${who}: queueRunnerKey missing or malformed; builders authorise this key for hydra-queue-runner" ]
        else [ ]);

  builderErrors = h:
    let who = "builder ${q h.name}"; in
    (if h.hostKey == null
     then [ ("${who}: SSH host key missing (hostKey); Hydra pins it in the machines file. "
       + "Get it with `ssh-keyscan -t ed25519 ${h.fqdn}`") ]
     else [ ])
    ++ (if isPositiveInt h.maxJobs then [ ] else [ "${who}: maxJobs must be a positive integer" ])
    ++ (if isPositiveInt h.speedFactor then [ ] else [ "${who}: speedFactor must be a positive integer" ])
    ++ concatMap
      (f: if isString f && match "[a-z0-9_-]+" f != null then [ ]
          else [ "${who}: feature ${q f} is not a feature name" ])
      (h.supportedFeatures ++ h.mandatoryFeatures);

  # --- names: hosts and the workers' hostnames share one zone --------------------------
  nameClaims =
    map (h: { key = h.fqdn; owner = "host ${q h.name}"; }) hostList
    ++ map (w: { key = w.fqdn; owner = "the ${w.env} ${w.kind} worker hostname"; }) workerHostnames;

  # --- addresses: one address, one host ------------------------------------------------
  # IPv6 is compared in canonical form and reported as written in the inventory.
  addressClaims = concatMap
    (h:
      (if h.ipv4 != null && net.parseIPv4 h.ipv4 != null then [{ key = h.ipv4; owner = "host ${q h.name}"; }] else [ ])
      ++ (if h.ipv6 != null && net.parseIPv6 h.ipv6 != null
          then [{ key = net.parseIPv6 h.ipv6; label = h.ipv6; owner = "host ${q h.name}"; }] else [ ]))
    hostList;

  # --- roles -------------------------------------------------------------------------------
  roleErrors =
    (if length (ofRole "hydra") == 1 then [ ]
     else [ "expected exactly one host with role \"hydra\", found ${toString (length (ofRole "hydra"))}" ])
    ++ (if mailDomains == [ ] || length (ofRole "mail") == 1 then [ ]
        else [ ("mail domains ${concatStringsSep ", " mailDomains} need exactly one host with role \"mail\", "
          + "found ${toString (length (ofRole "mail"))}") ]);

  # --- domains -----------------------------------------------------------------------------
  domainErrors =
    (if inventory.domains ? ${inventory.domain} then [ ]
     else [ "domain ${q inventory.domain} (where hosts live) is missing from domains" ]);

  # --- mail aliases ------------------------------------------------------------------------
  # A forwarding-only server has no mailboxes: an address in one of our mail domains exists
  # only if it is an alias, so every chain of aliases must end at an external address.
  aliases = inventory.mail.aliases or { };
  isOurs = a: elem (domainOf a) mailDomains;
  # Errors name the alias that holds the bad target, not where the walk started, so a chain
  # reached from several aliases is reported once (the list is de-duplicated below).
  walk = seen: a:
    let parent = builtins.elemAt seen (length seen - 1); in
    if !isAddress a then [ "mail alias ${q parent}: target ${q a} is not an e-mail address" ]
    else if !isOurs a then [ ]
    else if elem a seen then
      [ ("mail aliases loop through ${concatStringsSep ", " (sort (x: y: x < y) (dropUntil a seen))}: "
        + "mail to them never reaches a mailbox") ]
    else if !(aliases ? ${a}) then
      [ ("mail alias ${q parent} forwards to ${q a}, which goes nowhere: "
        + "it is not an alias and this server has no mailboxes") ]
    else if !(isList aliases.${a}) || aliases.${a} == [ ] then [ ] # reported for `a` itself
    else concatMap (walk (seen ++ [ a ])) aliases.${a};
  dropUntil = x: xs: if xs == [ ] || head xs == x then xs else dropUntil x (tail xs);
  aliasErrors =
    concatMap
      (a:
        if !isAddress a then [ "mail alias ${q a} is not an e-mail address" ]
        else if !(isOurs a)
        then [ "mail alias ${q a}: ${domainOf a} is not a mail domain (domains.<name>.mail = true)" ]
        else if !(isList aliases.${a}) then [ "mail alias ${q a}: targets must be a list of addresses" ]
        else if aliases.${a} == [ ] then [ "mail alias ${q a} forwards to nowhere (empty target list)" ]
        # Walk from the alias's targets so a broken chain is reported once, at its start.
        else concatMap (walk [ a ]) aliases.${a})
      (attrNames aliases)
    ++ concatMap
      (d: if aliases ? "postmaster@${d}" then [ ]
          else [ "mail domain ${q d}: no postmaster@${d} alias (RFC 5321 section 4.5.1 requires one)" ])
      mailDomains;

  # --- Cloudflare ------------------------------------------------------------------------
  envs = inventory.cloudflare.environments or { };
  zoneIds = inventory.cloudflare.zoneIds or { };
  isBucketName = n: isString n && match "[a-z0-9][a-z0-9-]{1,61}[a-z0-9]" n != null;
  isHexId = n: isString n && match "[0-9a-f]{32}" n != null;
  isUuid = n: isString n && match "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" n != null;
  cloudflareErrors =
    concatMap (z: if isHexId (zoneIds.${z} or null) then [ ]
      else [ ("cloudflare.zoneIds: zone ${q z} needs its Cloudflare zone id "
        + "(32 hex digits, from the zone's overview page)") ])
      (attrNames (inventory.domains or { }))
    ++ (if isBucketName (inventory.cloudflare.stateBucket or null) then [ ]
        else [ "cloudflare.stateBucket: missing or not a valid R2 bucket name; OpenTofu keeps its state there" ])
    ++ concatMap (e:
      (if isHexId (envs.${e}.denylistNamespaceId or null) then [ ]
       else [ ("cloudflare environment ${q e}: denylistNamespaceId must be the KV namespace's id "
         + "(32 hex digits, `tofu output`)") ])
      ++ (if isUuid (envs.${e}.auditDatabaseId or null) then [ ]
          else [ ("cloudflare environment ${q e}: auditDatabaseId must be the D1 database's id "
            + "(a UUID, `tofu output`)") ]))
      (attrNames envs)
    ++
    concatMap
      (e: if isBucketName envs.${e}.bucket then [ ]
          else [ "cloudflare environment ${q e}: bucket ${q envs.${e}.bucket} is not a valid R2 bucket name" ])
      (attrNames envs)
    ++ duplicates "R2 bucket" (map (e: { key = envs.${e}.bucket; owner = "environment ${q e}"; }) (attrNames envs))
    ++ duplicates "KV namespace"
      (map (e: { key = envs.${e}.denylistNamespace; owner = "environment ${q e}"; }) (attrNames envs))
    ++ duplicates "D1 database"
      (map (e: { key = envs.${e}.auditDatabase; owner = "environment ${q e}"; }) (attrNames envs));
  # --- keys ----------------------------------------------------------------------------------
  # name:base64 of a 32-byte Ed25519 key, as nix.conf's trusted-public-keys takes it.
  isNixPublicKey = k: isString k && match "[A-Za-z0-9._-]+:[A-Za-z0-9+/]{43}=" k != null;
  keyErrors =
    (if (inventory.cache.publicKeys or [ ]) == [ ]
     then [ "cache.publicKeys is empty: list the public half of Hydra's signing key" ] else [ ])
    ++ concatMap
      (k: if isNixPublicKey k then [ ] else [ "cache: ${q k} is not a Nix public key (name:base64 of 32 bytes)" ])
      ((inventory.cache.publicKeys or [ ]) ++ (inventory.cache.upstreamPublicKeys or [ ]))
    ++ (if concatMap (a: a.sshKeys or [ ]) (attrValues (inventory.admins or { })) == [ ]
        then [ "admins: no SSH key; admins log in as root with them and every secret is encrypted for them" ] else [ ]);

  unique = builtins.foldl' (acc: e: if elem e acc then acc else acc ++ [ e ]) [ ];
in
unique (concatLists (map hostErrors hostList)
++ duplicates "name" nameClaims
++ duplicates "address" addressClaims
++ roleErrors
++ domainErrors
++ aliasErrors
++ cloudflareErrors
++ keyErrors)
