# Base64 (RFC 4648) for printable ASCII, in plain builtins.
#
# Why: the machines file's last column is the builder's SSH host key *base64-encoded*
# (nix.conf(5), "builders"; Hydra reads the same format), while the inventory keeps the key
# as `ssh-keyscan` prints it so that known_hosts can use it verbatim. Nix has no base64
# builtin, and infra/lib must evaluate without nixpkgs.
let
  inherit (builtins) bitAnd concatStringsSep elemAt genList length listToAttrs stringLength substring;

  alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  # Code points 32..126, in order; SSH public key lines never contain anything else.
  printable = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  codeOf = listToAttrs (genList (i: { name = substring i 1 printable; value = i + 32; }) (stringLength printable));

  byte = c: codeOf.${c} or (throw "base64: only printable ASCII can be encoded, got ${builtins.toJSON c}");
  digit = n: substring n 1 alphabet;
in
{
  encode = s:
    let
      bytes = genList (i: byte (substring i 1 s)) (stringLength s);
      n = length bytes;
      at = i: if i < n then elemAt bytes i else 0;
      group = g:
        let
          left = n - 3 * g; # bytes present in this group: 1, 2 or 3
          v = at (3 * g) * 65536 + at (3 * g + 1) * 256 + at (3 * g + 2);
        in
        digit (v / 262144)
        + digit (bitAnd (v / 4096) 63)
        + (if left > 1 then digit (bitAnd (v / 64) 63) else "=")
        + (if left > 2 then digit (bitAnd v 63) else "=");
    in
    concatStringsSep "" (genList group ((n + 2) / 3));
}
