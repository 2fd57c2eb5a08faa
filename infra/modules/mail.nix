# The mail host: a forwarding-only mail server for the inventory's mail domains, built on
# simple-nixos-mailserver's nixos-26.05 branch (imported by flake.nix). No mailboxes, no
# logins: mail to an alias is forwarded to the external addresses lib/mail.nix resolved from
# the inventory. Option names are those of that branch (stateVersion, x509.*, accounts,
# dkim.*, srs.*; the 25.05 names certificateScheme, loginAccounts and dkimSigning/dkimSelector/
# dkimKeyDirectory/dkimKeyBits are gone).
{ config, lib, infra, host, ... }:
let
  selector = infra.inventory.mail.dkimSelector;
in
{
  mailserver = {
    enable = true;
    # The layout of the mailserver's data on this host; required, from the inventory.
    stateVersion = host.mailserverStateVersion;
    fqdn = host.fqdn; # MX target in DNS; the provider's PTR record must match it
    domains = infra.mailDomains;
    forwards = infra.mailForwards;
    accounts = { };

    # The certificate for fqdn comes from the ACME host nginx obtains below (HTTP-01).
    x509.useACMEHost = host.fqdn;

    # DKIM: rspamd signs every domain with one selector. The private keys are agenix secrets
    # (secrets.nix), decrypted to <keyDirectory>/<domain>.<selector>.key before rspamd starts,
    # so a rebuilt host signs with the key DNS publishes instead of generating a new one.
    dkim = {
      keyDirectory = "/var/dkim";
      domains = lib.genAttrs infra.mailDomains (_: {
        selectors.${selector} = { keyType = "rsa"; keyLength = 2048; };
      });
    };

    # Forwarded mail keeps working under the senders' SPF: the envelope sender is rewritten
    # to our domain (Sender Rewriting Scheme), as NixOS/infra's mail host does.
    srs.enable = true;

    # Nothing reads or submits mail here, so none of the client-facing services listen.
    enableImap = false;
    enableImapSsl = false;
    enablePop3 = false;
    enablePop3Ssl = false;
    enableSubmission = false;
    enableSubmissionSsl = false;
    enableManageSieve = false;
  };

  # nginx answers the ACME HTTP-01 challenge for fqdn and nothing else.
  services.nginx = {
    enable = true;
    virtualHosts.${host.fqdn} = {
      enableACME = true;
      forceSSL = true;
      locations."/".return = "204";
    };
  };
  security.acme = {
    acceptTerms = true;
    defaults.email = "postmaster@${infra.domain}";
  };
  # 25 is opened by mailserver.openFirewall; 80 for the ACME challenge, 443 for the redirect.
  networking.firewall.allowedTCPPorts = [ 80 443 ];
}
