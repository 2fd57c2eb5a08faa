# Every host's NixOS configuration, evaluated against options.nix with the stand-in module system
# of lib.nix: the modules flake.nix gives the host (common, provider, role) with the same
# specialArgs. Returns, per host, the errors (unknown options, wrong types, conflicts) and the
# merged config, for test/nixos.test.ts.
#
#   nix-instantiate --eval --strict --json infra/test/nixos/eval.nix [--argstr inventoryFile …] [--argstr extraModule …]
{ inventoryFile ? null, extraModule ? null }:
let
  m = import ./lib.nix;
  infra = import ../../eval.nix { inherit inventoryFile; };
  declarations = import ./options.nix { inherit (m) types mkOption; };
  # The few packages the modules name; any other pkgs attribute is an evaluation error.
  pkgs = {
    writeText = name: text: { _type = "package"; inherit name text; };
    postgresql_16 = { _type = "package"; name = "postgresql-16"; };
  };
  # simple-nixos-mailserver and agenix contribute only their option declarations here (above).
  roleModules = {
    hydra = [ ../../modules/hydra.nix ];
    builder = [ ../../modules/builder.nix ];
    mail = [ ../../modules/mail.nix ];
  };
  evalHost = name: host:
    let
      r = m.evalModules {
        inherit declarations;
        specialArgs = { inherit infra host pkgs; modulesPath = "<nixpkgs>/nixos/modules"; };
        modules = [ ../../modules/common.nix (../../modules/providers + "/${host.provider}.nix") ]
          ++ roleModules.${host.role}
          ++ (if extraModule == null then [ ] else [ (/. + extraModule) ]);
      };
      # Paths (agenix's `file`) would be copied to the store by toJSON: show their names instead.
      # An option no module defines and without a default shows as "<undefined>" (reading it in a
      # module is an error, as in NixOS).
      show = v': let t = builtins.tryEval v'; v = t.value; in
        if !t.success then "<undefined>"
        else if builtins.isPath v then "<path:${baseNameOf (toString v)}>"
        else if builtins.isAttrs v then builtins.mapAttrs (_: show) v
        else if builtins.isList v then map show v
        else v;
    in
    { inherit (r) errors externalImports; config = show r.config; };
in
builtins.mapAttrs evalHost infra.hosts
