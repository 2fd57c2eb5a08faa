# ../secrets.nix, normalised (defaults filled in) and joined with the inventory's keys:
#   secrets.<name>   { name; hosts; owner; group; mode; path; file; recipients; }
#   forHost <host>   the secrets that host decrypts (modules/secrets.nix sets age.secrets)
#   agenixRules      { "<name>.age".publicKeys = [ … ]; } for the agenix CLI
# The recipients of a secret are its hosts' SSH host keys (agenix decrypts with the host's
# /etc/ssh/ssh_host_ed25519_key) and every admin's SSH key.
{ inventory, hosts, hostsOfRole, mailDomains, ... }:
let
  inherit (builtins) attrNames attrValues concatMap elem filter listToAttrs mapAttrs;
  declared = import ../secrets.nix {
    hostsWithRole = role: map (h: h.name) (hostsOfRole role);
    inherit mailDomains;
    dkimSelector = inventory.mail.dkimSelector or "mail";
  };
  adminKeys = concatMap (a: a.sshKeys or [ ]) (attrValues (inventory.admins or { }));
  # "ssh-ed25519 AAAA… comment" -> "ssh-ed25519 AAAA…": age reads the type and the key only.
  keyOf = k: let m = builtins.match "([^ ]+ [^ ]+).*" k; in if m == null then k else builtins.head m;
  normalise = name: s: rec {
    inherit name;
    hosts = s.hosts or [ ];
    owner = s.owner or "root";
    group = s.group or "root";
    mode = s.mode or "0400";
    path = s.path or "/run/agenix/${name}";
    file = "${name}.age";
    recipients = map (h: keyOf (hosts'.${h}.hostKey or "")) hosts ++ map keyOf adminKeys;
  };
  hosts' = hosts;
  secrets = mapAttrs normalise declared;
in
{
  inherit secrets;
  forHost = host: listToAttrs (map (n: { name = n; value = secrets.${n}; })
    (filter (n: elem host secrets.${n}.hosts) (attrNames secrets)));
  agenixRules = listToAttrs (map (s: { name = s.file; value.publicKeys = s.recipients; }) (attrValues secrets));
}
