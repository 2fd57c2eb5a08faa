# Hetzner Cloud VMs (CX/CPX x86_64, CAX aarch64), installed with the disk labelled "nixos"
# (e.g. nixos-anywhere or the NixOS ISO). One file per provider: lib/validate.nix rejects a
# host whose `provider` has no file here.
{ lib, modulesPath, host, ... }:
{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  boot.initrd.availableKernelModules = [ "ahci" "xhci_pci" "virtio_pci" "virtio_scsi" "sd_mod" "sr_mod" ];

  # x86_64 VMs boot with legacy BIOS, the Arm (CAX) ones only with UEFI.
  boot.loader = if host.system == "aarch64-linux" then {
    systemd-boot.enable = true;
    efi.canTouchEfiVariables = true;
  } else {
    grub.enable = true;
    grub.device = "/dev/sda";
  };

  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  fileSystems."/boot" =
    lib.mkIf (host.system == "aarch64-linux") { device = "/dev/disk/by-label/ESP"; fsType = "vfat"; };

  # IPv4 comes from DHCP; IPv6 is a routed /64 that Hetzner does not announce, so the
  # inventory's address is configured statically with the provider's fixed gateway.
  networking.useDHCP = false;
  networking.useNetworkd = true;
  systemd.network.networks."10-uplink" = {
    matchConfig.Name = "en* eth*";
    networkConfig.DHCP = "ipv4";
    address = lib.optional (host.ipv6 != null) "${host.ipv6}/64";
    routes = lib.optional (host.ipv6 != null) { Gateway = "fe80::1"; };
  };
}
