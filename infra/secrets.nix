# Every secret, the hosts that decrypt it, and how it lands there: the secret -> host mapping
# for agenix. Each secret is the file secrets/<name>.age in this repository, encrypted (age)
# for the SSH host key of every host listed here and for every admin's SSH key, so that
# admins can re-encrypt it and a rebuilt host (same host key) gets the same secret back.
# On the host, agenix decrypts it at activation to `path` (default /run/agenix/<name>, a
# tmpfs) with the declared owner, group and mode. Nothing here is a secret, and no secret
# ever enters the Nix store: the store holds only the encrypted .age files.
#
# lib/secrets.nix turns this into the NixOS side (modules/secrets.nix) and into the
# agenix CLI's rules (secrets/secrets.nix); lib/validate.nix checks it.
#
# Arguments come from lib/default.nix: host names by role, the mail domains, the selector.
{ hostsWithRole, mailDomains, dkimSelector }:
let
  hydra = hostsWithRole "hydra";
  mail = hostsWithRole "mail";
in
{
  # `nix-store --generate-binary-cache-key`'s secret half; store_uri's secret-key= names its
  # path. Only the queue runner signs.
  cache-signing-key = {
    hosts = hydra;
    owner = "hydra-queue-runner";
    group = "hydra";
    mode = "0400";
  };
  # AWS_ACCESS_KEY_ID=… / AWS_SECRET_ACCESS_KEY=… of an R2 token that can write the
  # production bucket only; systemd reads it as root (EnvironmentFile) before dropping to
  # the queue runner's user.
  r2-credentials = {
    hosts = hydra;
    owner = "root";
    group = "root";
    mode = "0400";
  };
  # The queue runner's SSH client key to the builders; its public half is the hydra host's
  # queueRunnerKey. At the path the machines file names (lib/machines.nix).
  queue-runner-ssh-key = {
    hosts = hydra;
    owner = "hydra-queue-runner";
    group = "hydra";
    mode = "0400";
    path = "/var/lib/hydra/queue-runner/.ssh/id_ed25519";
  };
  # OpenTofu's Cloudflare API token: for operators only (no host), read by cloudflare/tf.sh.
  cloudflare-api-token = {
    hosts = [ ];
  };
}
# One DKIM private key per mail domain, where simple-nixos-mailserver looks for it
# (<dkim.keyDirectory>/<domain>.<selector>.key), readable by rspamd, which signs. Kept in the
# repository so a rebuilt mail host signs with the key that DNS (dkimPublicKey) publishes.
// builtins.listToAttrs (map
  (d: {
    name = "dkim-${d}-${dkimSelector}";
    value = {
      hosts = mail;
      owner = "rspamd";
      group = "rspamd";
      mode = "0400";
      path = "/var/dkim/${d}.${dkimSelector}.key";
    };
  })
  mailDomains)
