# The NixOS options infra/modules set, declared with their types, for test/nixos/eval.nix.
# Sources: the NixOS 26.05 option documentation (search.nixos.org/options, release 26.05) for
# nixpkgs' options; agenix's README for age.secrets; simple-nixos-mailserver nixos-26.05
# (as NixOS/infra's mail host uses it: stateVersion, x509.useACMEHost, accounts, dkim.keyDirectory,
# dkim.domains.<d>.selectors.<s>.{keyType,keyLength}, srs.enable, enableImap) for mailserver.
# Only what the modules set or read is declared: anything else is an unknown option here.
# Freeform sets in NixOS (nix.settings, services.openssh.settings, serviceConfig, systemd
# network sections) are declared key by key, so a misspelt key fails here although NixOS would
# pass it on (to nix.conf or sshd_config, which then warn or refuse to start).
{ types, mkOption }:
let
  inherit (types) attrsOf bool either enum int lines listOf nullOr package path port positiveInt str submodule;
  opt = type: mkOption { inherit type; };
  optD = type: default: mkOption { inherit type default; hasDefault = true; };
  enable = optD bool false;
  strOrList = either str (listOf str);
in
{
  networking = {
    hostName = opt str;
    domain = optD (nullOr str) null;
    useDHCP = optD bool true;
    useNetworkd = optD bool false;
    nftables.enable = enable;
    firewall = {
      enable = optD bool true;
      extraInputRules = optD lines "";
      allowedTCPPorts = optD (listOf port) [ ];
    };
  };
  system = {
    stateVersion = opt (types.strMatching "[0-9]{2}\\.[0-9]{2}");
    autoUpgrade = {
      enable = enable;
      flake = optD (nullOr str) null;
      dates = optD str "04:40";
      randomizedDelaySec = optD str "0";
      allowReboot = optD bool false;
      rebootWindow = optD (nullOr (submodule { lower = opt str; upper = opt str; })) null;
    };
  };
  time.timeZone = optD (nullOr str) null;

  services = {
    openssh = {
      enable = enable;
      settings = {
        PasswordAuthentication = optD bool true;
        KbdInteractiveAuthentication = optD bool true;
        PermitRootLogin =
          optD (enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ]) "prohibit-password";
        X11Forwarding = optD bool false;
      };
    };
    timesyncd.enable = optD bool true;
    prometheus.exporters.node = {
      enable = enable;
      port = optD port 9100;
      openFirewall = optD bool false;
      enabledCollectors = optD (listOf str) [ ];
    };
    hydra = {
      enable = enable;
      hydraURL = opt str;
      listenHost = optD str "*";
      port = optD port 3000;
      notificationSender = opt str;
      useSubstitutes = optD bool false;
      buildMachinesFiles = optD (listOf path) [ ];
      minimumDiskFree = optD int 0;
      minimumDiskFreeEvaluator = optD int 0;
      extraConfig = optD lines "";
    };
    postgresql.package = opt package;
    nginx = {
      enable = enable;
      recommendedProxySettings = optD bool false;
      recommendedTlsSettings = optD bool false;
      recommendedGzipSettings = optD bool false;
      virtualHosts = optD (attrsOf (submodule {
        enableACME = optD bool false;
        forceSSL = optD bool false;
        locations = optD (attrsOf (submodule {
          proxyPass = optD (nullOr str) null;
          return = optD (nullOr (either str int)) null;
        })) { };
      })) { };
    };
  };

  users = {
    mutableUsers = optD bool true;
    users = optD (attrsOf (submodule { openssh.authorizedKeys.keys = optD (listOf str) [ ]; })) { };
  };
  programs.ssh.knownHosts =
    optD (attrsOf (submodule { hostNames = optD (listOf str) [ ]; publicKey = optD (nullOr str) null; })) { };

  nix = {
    settings = {
      experimental-features = optD (listOf str) [ ];
      trusted-users = optD (listOf str) [ "root" ];
      extra-substituters = optD (listOf str) [ ];
      extra-trusted-public-keys = optD (listOf str) [ ];
      min-free = opt positiveInt;
      max-free = opt positiveInt;
      max-jobs = opt (either positiveInt (enum [ "auto" ]));
      cores = optD int 0;
      system-features = optD (listOf str) [ ];
      extra-platforms = optD (listOf str) [ ];
      sandbox = optD (either bool (enum [ "relaxed" ])) true;
      allowed-uris = optD (listOf str) [ ];
    };
    gc = {
      automatic = optD bool false;
      dates = optD strOrList "03:15";
      options = optD str "";
    };
    sshServe = {
      enable = enable;
      write = optD bool false;
      protocol = optD (enum [ "ssh" "ssh-ng" ]) "ssh";
      keys = optD (listOf str) [ ];
    };
  };

  boot = {
    initrd.availableKernelModules = optD (listOf str) [ ];
    loader = {
      systemd-boot.enable = enable;
      efi.canTouchEfiVariables = optD bool false;
      grub = { enable = optD bool true; device = optD str ""; };
    };
  };
  fileSystems = optD (attrsOf (submodule { device = optD (nullOr str) null; fsType = optD str "auto"; })) { };

  systemd = {
    network.networks = optD (attrsOf (submodule {
      matchConfig.Name = optD (nullOr str) null;
      networkConfig.DHCP = optD (nullOr (enum [ "yes" "no" "ipv4" "ipv6" ])) null;
      address = optD (listOf str) [ ];
      routes = optD (listOf (submodule { Gateway = opt str; })) [ ];
    })) { };
    services = optD (attrsOf (submodule { serviceConfig.EnvironmentFile = optD (nullOr strOrList) null; })) { };
    tmpfiles.rules = optD (listOf str) [ ];
  };

  security.acme = {
    acceptTerms = optD bool false;
    defaults.email = optD (nullOr str) null;
  };

  # agenix (github:ryantm/agenix, modules/age.nix)
  age.secrets = optD (attrsOf (submodule {
    file = opt path;
    path = opt path;
    mode = optD (types.strMatching "[0-7]{4}") "0400";
    owner = optD str "0";
    group = optD str "0";
  })) { };

  # simple-nixos-mailserver, nixos-26.05
  mailserver = {
    enable = enable;
    stateVersion = optD (nullOr positiveInt) null;
    fqdn = opt str;
    domains = optD (listOf str) [ ];
    forwards = optD (attrsOf (either (listOf str) str)) { };
    accounts = optD (attrsOf (submodule { hashedPasswordFile = optD (nullOr str) null; })) { };
    x509.useACMEHost = optD (nullOr str) null;
    dkim = {
      keyDirectory = optD path "/var/dkim";
      domains = optD (attrsOf (submodule {
        selectors = optD (attrsOf (submodule {
          keyType = optD (enum [ "rsa" "ed25519" ]) "rsa";
          keyLength = optD (nullOr positiveInt) null;
        })) { };
      })) { };
    };
    srs.enable = enable;
    enableImap = optD bool true;
    enableImapSsl = optD bool true;
    enablePop3 = optD bool false;
    enablePop3Ssl = optD bool false;
    enableSubmission = optD bool true;
    enableSubmissionSsl = optD bool true;
    enableManageSieve = optD bool false;
  };
}
