# Inventory mail aliases -> nixos-mailserver `forwards`: each alias mapped to the external
# addresses it finally reaches. Validation has already proved every chain ends outside our
# domains, so flattening here means Postfix's virtual map never depends on recursive lookups
# of addresses that have no mailbox.
{ inventory, mailDomains, ... }:
let
  inherit (builtins) attrNames concatMap elem elemAt listToAttrs match;
  aliases = inventory.mail.aliases or { };
  isOurs = a: elem (elemAt (match "[^@]+@(.*)" a) 0) mailDomains;
  resolve = a: if isOurs a then concatMap resolve aliases.${a} else [ a ];
  unique = builtins.foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
in
listToAttrs (map (a: { name = a; value = unique (concatMap resolve aliases.${a}); }) (attrNames aliases))
