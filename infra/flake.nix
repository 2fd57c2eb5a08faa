{
  description = "Hydra, build machines and mail for the Nix binary cache, with their DNS and Cloudflare resources";

  # The current stable release, 26.05 (as NixOS/infra runs); hosts auto-upgrade along this
  # branch, so it must be a supported release: move to the next one before this one's end of
  # life (README "Moving to a new NixOS release"). Pinned by flake.lock, which needs network
  # access to create or update (`nix flake lock` / `nix flake update`; README). Each
  # mailserver branch tracks the NixOS release of the same name.
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    simple-nixos-mailserver = {
      url = "gitlab:simple-nixos-mailserver/nixos-mailserver/nixos-26.05";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    # Secrets: decrypts secrets/*.age on the hosts (secrets.nix says which go where).
    agenix = {
      url = "github:ryantm/agenix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, simple-nixos-mailserver, agenix, ... }:
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
          agenix.nixosModules.default
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
