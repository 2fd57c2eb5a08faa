{
  description = "Hydra, build machines and mail for the Nix binary cache, with their DNS and Cloudflare resources";

  # Pinned by flake.lock, which must be created with network access (`nix flake lock`);
  # see README. Each mailserver branch tracks the NixOS release of the same name.
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
    simple-nixos-mailserver = {
      url = "gitlab:simple-nixos-mailserver/nixos-mailserver/nixos-25.05";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, simple-nixos-mailserver, ... }:
    let
      # Validated inventory plus everything derived from it (lib/default.nix). Only
      # builtins are used below, so the wiring can be checked without nixpkgs (CI does).
      infra = import ./lib { inventory = import ./inventory.nix; };

      roleModules = {
        hydra = [ ./modules/hydra.nix ];
        builder = [ ./modules/builder.nix ];
        mail = [ simple-nixos-mailserver.nixosModules.default ./modules/mail.nix ];
      };

      mkHost = name: host: nixpkgs.lib.nixosSystem {
        specialArgs = { inherit infra host; };
        modules = [
          ./modules/common.nix
          (./modules/providers + "/${host.provider}.nix")
          { nixpkgs.hostPlatform = host.system; }
        ] ++ roleModules.${host.role};
      };

      systems = builtins.attrNames (builtins.listToAttrs
        (map (h: { name = h.system; value = null; }) (builtins.attrValues infra.hosts)));
    in
    {
      nixosConfigurations = builtins.mapAttrs mkHost infra.hosts;

      # `nix flake check` builds every host's system closure on its own platform.
      checks = builtins.listToAttrs (map
        (system: {
          name = system;
          value = builtins.mapAttrs (name: _: self.nixosConfigurations.${name}.config.system.build.toplevel)
            (builtins.removeAttrs infra.hosts
              (builtins.filter (n: infra.hosts.${n}.system != system) (builtins.attrNames infra.hosts)));
        })
        systems);

      nixosModules = {
        common = ./modules/common.nix;
        hydra = ./modules/hydra.nix;
        builder = ./modules/builder.nix;
        mail = ./modules/mail.nix;
      };

      # The pure parts, for `nix eval .#lib.machinesFile` and friends.
      lib = infra;
    };
}
