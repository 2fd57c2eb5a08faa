# IP address parsing in plain builtins: validation says *which* address is malformed, and
# duplicate detection compares canonical forms ("2001:db8::10" and "2001:DB8:0::0010" are
# the same host to the kernel, so they must be the same to the inventory too).
let
  inherit (builtins) all concatStringsSep elemAt filter genList isString length match replaceStrings split
    stringLength substring;

  splitOn = sep: s: filter isString (split sep s);
  lower = replaceStrings [ "A" "B" "C" "D" "E" "F" ] [ "a" "b" "c" "d" "e" "f" ];
  pad4 = g: substring 0 (4 - stringLength g) "0000" + g;
  isHexGroup = g: match "[0-9a-fA-F]{1,4}" g != null;
  groupsOf = s: if s == "" then [ ] else splitOn ":" s;
in
rec {
  # null when not a dotted-quad IPv4 address with octets 0..255 and no leading zeros
  # (leading zeros are octal to inet_aton, a classic source of wrong addresses).
  parseIPv4 = a:
    let
      octet = "(0|[1-9][0-9]{0,2})";
      m = if builtins.isString a then match "${octet}\\.${octet}\\.${octet}\\.${octet}" a else null;
    in if m != null && all (o: builtins.fromJSON o <= 255) m then concatStringsSep "." m else null;

  # Canonical, fully expanded lowercase form ("2001:0db8:0000:...") or null. Embedded IPv4
  # ("::ffff:1.2.3.4") and zone ids are not host addresses we publish, so they are rejected.
  parseIPv6 = a:
    let
      halves = if builtins.isString a then splitOn "::" a else [ ];
      groups =
        if length halves == 1 then groupsOf a
        else if length halves == 2 then
          let l = groupsOf (elemAt halves 0); r = groupsOf (elemAt halves 1);
          in if length l + length r > 7 then [ ] else l ++ genList (_: "0") (8 - length l - length r) ++ r
        else [ ];
    in
    if length groups == 8 && all isHexGroup groups
    then concatStringsSep ":" (map (g: pad4 (lower g)) groups)
    else null;
}
