# Inventory -> DNS records, rendered two ways:
#   zoneFiles.<zone>    RFC 1035 master files (for review, or any other DNS host)
#   lib/tofu.nix        one cloudflare_dns_record per record, applied by OpenTofu
#
# A record is { key; zone; name (FQDN, no trailing dot); type; content; ttl; proxied; priority; comment; data }.
# `key` names the record's OpenTofu resource. It is built from the name and type (and, for
# CAA, the issuer), never from the content, so a changed address or key is an in-place update,
# while a record that leaves the inventory leaves the plan and is destroyed.
# Each carries a comment saying why it exists; Cloudflare stores it with the record (the
# free plan allows 100 characters, so comments stay short).
# SOA and NS are the DNS provider's, not ours, and are not generated.
{ inventory, hosts, domain, fqdn, mailDomains, workerHostnames, hostsOfRole, ... }:
let
  inherit (builtins) attrNames concatLists concatMap concatStringsSep elem filter genList length map replaceStrings
    stringLength substring toJSON;

  ttl = inventory.dns.ttl or 3600;
  caaIssuers = inventory.dns.caaIssuers or [ ];
  selector = inventory.mail.dkimSelector or "mail";
  mailHost = let m = hostsOfRole "mail"; in if m == [ ] then null else builtins.head m;

  label = s: replaceStrings [ "." "_" ] [ "_" "-" ] s;
  record = zone: name: type: content: comment: extra:
    { inherit zone name type content comment ttl; proxied = false; priority = null; data = null;
      key = "${type}_${label name}"; } // extra;

  # --- hosts: every host reachable by name; Hydra reaches builders as <name>.<domain>.
  # Never proxied: SSH, SMTP and the nix-ssh protocol cannot pass Cloudflare's HTTP proxy.
  hostRecords = concatMap
    (n:
      let h = hosts.${n}; why = "host ${n} (${h.role}, ${h.provider})"; in
      (if h.ipv4 != null then [ (record domain h.fqdn "A" h.ipv4 why { }) ] else [ ])
      ++ (if h.ipv6 != null then [ (record domain h.fqdn "AAAA" h.ipv6 why { }) ] else [ ]))
    (attrNames hosts);

  # --- workers: no records here. Each worker hostname is a Workers Custom Domain
  # (cloudflare_workers_custom_domain in lib/tofu.nix), and Cloudflare then creates the DNS
  # record and the certificate itself; a record of ours under that name would make the
  # attachment fail ("externally managed DNS records"). The zone file says so.
  workerNotes = map
    (w: "; ${w.fqdn}: Workers Custom Domain of ${w.script} (${w.env}), attached by OpenTofu")
    workerHostnames;

  # --- CAA on every zone: only the listed CAs may issue for our names (RFC 8659) ----------
  caaRecords = zone: map
    (ca: record zone zone "CAA" "0 issue \"${ca}\"" "only ${ca} may issue certificates"
      { data = { flags = 0; tag = "issue"; value = ca; }; key = "CAA_${label zone}_${label ca}"; })
    caaIssuers;

  # --- mail, per mail domain -----------------------------------------------------------
  dkimKey = d: inventory.domains.${d}.dkimPublicKey or null;
  mailRecords = d:
    [
      (record d d "MX" mailHost.fqdn "mail for ${d} is received by ${mailHost.name}" { priority = 10; })
      # Only the mail host sends as these domains (bounces, forwards); -all makes anything
      # else fail SPF instead of being waved through.
      (record d d "TXT" "v=spf1 mx -all" "SPF: only the MX host sends mail for ${d}" { })
    ]
    ++ (if dkimKey d == null then [ ] else [
      (record d "${selector}._domainkey.${d}" "TXT" "v=DKIM1; k=rsa; p=${dkimKey d}"
        "DKIM key the mail host signs ${d} mail with" { })
    ])
    ++ [
      # reject: the domains send nothing but what the mail host signs, so a failing message
      # is spoofed. Aggregate reports go to postmaster, which validation guarantees exists.
      (record d "_dmarc.${d}" "TXT" "v=DMARC1; p=reject; rua=mailto:postmaster@${d}"
        "DMARC: reject unauthenticated mail from ${d}" { })
    ];
  # Bounces have an empty envelope sender, so receivers check SPF against the HELO name.
  heloRecords = if mailDomains == [ ] then [ ] else [
    (record domain mailHost.fqdn "TXT" "v=spf1 a -all" "SPF for the mail host's HELO name (bounces)" { })
  ];

  zones = attrNames (inventory.domains or { });
  recordsOf = zone:
    (if zone == domain then hostRecords ++ heloRecords else [ ])
    ++ (if elem zone mailDomains then mailRecords zone else [ ])
    ++ caaRecords zone;

  all = concatMap recordsOf zones;
  # Two records with one key would be one resource in OpenTofu: refuse rather than drop one.
  keys = map (r: r.key) all;
  records =
    if length keys == length (builtins.attrNames (builtins.listToAttrs (map (k: { name = k; value = null; }) keys)))
    then all else throw "lib/dns.nix: two DNS records share an OpenTofu resource key: ${toJSON keys}";

  warnings = concatMap
    (d: if dkimKey d == null
      then [ ("domains.\"${d}\".dkimPublicKey is not set: no DKIM record for ${d}; generate the key pair, "
        + "encrypt the private half as secrets/dkim-${d}-${selector}.age and put p= here (README \"Secrets\")") ]
      else [ ])
    mailDomains;

  # --- zone file rendering -------------------------------------------------------------
  # TXT character-strings are at most 255 bytes (RFC 1035 §3.3); longer values (DKIM keys)
  # are split into several quoted strings, which resolvers concatenate.
  chunks = s: genList (i: substring (i * 255) 255 s) ((stringLength s + 254) / 255);
  quote = s: "\"" + replaceStrings [ "\\" "\"" ] [ "\\\\" "\\\"" ] s + "\"";
  rdata = r:
    if r.type == "TXT" then concatStringsSep " " (map quote (chunks r.content))
    else if r.type == "MX" then "${toString r.priority} ${r.content}."
    else if r.type == "CNAME" then "${r.content}."
    else r.content;
  zoneLine = r:
    "${r.name}.\t${toString r.ttl}\tIN\t${r.type}\t${rdata r}\t; ${r.comment}"
    + (if r.proxied then " cf_tags=cf-proxied:true" else "");
  zoneFile = zone: ''
    ; Zone ${zone}, generated from infra/inventory.nix by infra/lib/dns.nix: edit the
    ; inventory, not this file. SOA and NS records belong to the DNS provider.
    $ORIGIN ${zone}.
    $TTL ${toString ttl}
    ${concatStringsSep "\n"
      ((if zone == domain then workerNotes else [ ]) ++ map zoneLine (filter (r: r.zone == zone) records))}
  '';

in
{
  inherit records warnings;
  zoneFiles = builtins.listToAttrs (map (z: { name = z; value = zoneFile z; }) zones);
}
