# The mail host: a forwarding-only mail server for the inventory's mail domains, built on
# simple-nixos-mailserver (imported by flake.nix). No mailboxes, no logins: mail to an
# alias is forwarded to the external addresses lib/mail.nix resolved from the inventory.
{ config, lib, infra, host, ... }:
{
  mailserver = {
    enable = true;
    fqdn = host.fqdn; # MX target in DNS; the provider's PTR record must match it
    domains = infra.mailDomains;
    forwards = infra.mailForwards;
    loginAccounts = { };

    # Let's Encrypt for fqdn through nginx's HTTP-01 challenge.
    certificateScheme = "acme-nginx";

    # DKIM signing with one selector for every domain; keys are generated on first start in
    # dkimKeyDirectory and their public halves copied into the inventory (README).
    dkimSigning = true;
    dkimSelector = infra.inventory.mail.dkimSelector;
    dkimKeyDirectory = "/var/dkim";
    dkimKeyBits = 2048;

    # Nothing reads or submits mail here, so none of the client-facing services listen.
    enableImap = false;
    enableImapSsl = false;
    enablePop3 = false;
    enablePop3Ssl = false;
    enableSubmission = false;
    enableSubmissionSsl = false;
    enableManageSieve = false;
  };

  security.acme = {
    acceptTerms = true;
    defaults.email = "postmaster@${infra.domain}";
  };
  # 25 is opened by mailserver.openFirewall; 80 for the ACME challenge.
  networking.firewall.allowedTCPPorts = [ 80 ];
}
