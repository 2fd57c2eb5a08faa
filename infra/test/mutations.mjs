// Mutation check for the infra tests: applies one deliberate mistake at a time to infra/ (or a wrangler config),
// runs `vitest run --project infra`, and reports whether the tests caught it. Every file is restored from git
// afterwards. Run from the repository root: `node infra/test/mutations.mjs [--from N]` (about 90 s per mutation;
// --from skips the first N).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

// [what, file, old text, new text]: each old text must occur exactly once.
const mutations = [
  ["option-name typo (PermitRootLogin)", "infra/modules/common.nix", "PermitRootLogin = ", "PermitRootLogn = "],
  [
    "PermitRootLogin yes",
    "infra/modules/common.nix",
    'PermitRootLogin = "prohibit-password"',
    'PermitRootLogin = "yes"',
  ],
  ["password login", "infra/modules/common.nix", "PasswordAuthentication = false", "PasswordAuthentication = true"],
  ["mutable users", "infra/modules/common.nix", "users.mutableUsers = false", "users.mutableUsers = true"],
  ["Hydra's key removed from the builders", "infra/modules/builder.nix", "keys = infra.hydraKeys;", "keys = [ ];"],
  ["builders serve read-only", "infra/modules/builder.nix", "write = true;", "write = false;"],
  [
    "Hydra's key also for root on builders",
    "infra/modules/common.nix",
    "users.users.root.openssh.authorizedKeys.keys = infra.adminKeys;",
    "users.users.root.openssh.authorizedKeys.keys = infra.adminKeys ++ infra.hydraKeys;",
  ],
  [
    "no GC sweep",
    "infra/modules/common.nix",
    'automatic = true;\n    dates = "daily";',
    'automatic = false;\n    dates = "daily";',
  ],
  ["no min-free", "infra/modules/common.nix", "    min-free = gib host.gc.minFreeGiB;\n", ""],
  [
    "secret mode world-readable",
    "infra/secrets.nix",
    'owner = "hydra-queue-runner";\n    group = "hydra";\n    mode = "0400";\n  };\n  # AWS',
    'owner = "hydra-queue-runner";\n    group = "hydra";\n    mode = "0444";\n  };\n  # AWS',
  ],
  [
    "signing key owned by root",
    "infra/secrets.nix",
    'hosts = hydra;\n    owner = "hydra-queue-runner";\n    group = "hydra";\n    mode = "0400";\n  };\n  # AWS',
    'hosts = hydra;\n    owner = "root";\n    group = "hydra";\n    mode = "0400";\n  };\n  # AWS',
  ],
  [
    "signing key path hard-coded",
    "infra/lib/hydra.nix",
    "signingKeyFile = secrets.secrets.cache-signing-key.path;",
    'signingKeyFile = "/var/lib/secrets/cache-signing-key";',
  ],
  [
    "R2 credentials not from the secret",
    "infra/modules/hydra.nix",
    "EnvironmentFile = hydra.credentialsFile;",
    'EnvironmentFile = "/var/lib/secrets/r2.env";',
  ],
  ["useSubstitutes true", "infra/modules/hydra.nix", "useSubstitutes = false;", "useSubstitutes = true;"],
  ["compress_build_logs missing", "infra/lib/hydra.nix", "    compress_build_logs = false\n", ""],
  ["NAR cache directory missing", "infra/modules/hydra.nix", '    "d ${hydra.narCache} 0775 hydra hydra 1d -"\n', ""],
  ["SRS off", "infra/modules/mail.nix", "srs.enable = true;", "srs.enable = false;"],
  [
    "old mailserver option (certificateScheme)",
    "infra/modules/mail.nix",
    "x509.useACMEHost = host.fqdn;",
    'certificateScheme = "acme-nginx";',
  ],
  ["IMAP on", "infra/modules/mail.nix", "enableImap = false;", "enableImap = true;"],
  [
    "DKIM key in the wrong place",
    "infra/secrets.nix",
    'path = "/var/dkim/${d}.${dkimSelector}.key";',
    'path = "/var/lib/dkim/${d}.key";',
  ],
  [
    "stateVersion silently defaulted",
    "infra/lib/default.nix",
    "stateVersion = h.stateVersion or null;",
    'stateVersion = h.stateVersion or "25.05";',
  ],
  [
    "flake back on 25.05",
    "infra/flake.nix",
    'nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";',
    'nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";',
  ],
  [
    "no lifecycle rule",
    "infra/lib/tofu.nix",
    'abort_multipart_uploads_transition.condition = { type = "Age"; max_age = abortMultipartAfterSeconds; };',
    "",
  ],
  [
    "DNS resource named by content",
    "infra/lib/dns.nix",
    'key = "${type}_${label name}"; }',
    'key = "${type}_${label name}_${label content}"; }',
  ],
  [
    "worker trusts only cache.nixos.org",
    "wrangler.toml",
    'TRUSTED_PUBLIC_KEYS = """\\\ncache.example-nix.org-1:TOMtERgstyYYEJByjd/gdugFSiky7Kj1NhhNxx41uJk= \\\n' +
      'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="""\nNARINFO_TTL = "86400"',
    'TRUSTED_PUBLIC_KEYS = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="\nNARINFO_TTL = "86400"',
  ],
  [
    "admin bucket name drifts",
    "wrangler.admin.toml",
    'bucket_name = "nix-cache-staging"',
    'bucket_name = "nix-cache-stage"',
  ],
  [
    "validation: maxJobs check dropped",
    "infra/lib/validate.nix",
    '(if isPositiveInt h.maxJobs then [ ] else [ "${who}: maxJobs must be a positive integer" ])',
    "[ ]",
  ],
  [
    "validation: zone id check dropped",
    "infra/lib/validate.nix",
    "concatMap (z: if isHexId (zoneIds.${z} or null) then [ ]",
    "concatMap (z: if true then [ ]",
  ],
  [
    "secret encrypted for another host",
    "infra/secrets.nix",
    "  r2-credentials = {\n    hosts = hydra;",
    "  r2-credentials = {\n    hosts = hydra ++ mail;",
  ],
];

const changedAtStart = execFileSync("git", ["status", "--porcelain"], { encoding: "utf8" }).trim();
if (changedAtStart) {
  console.error("mutations.mjs: commit or stash your changes first (files are restored from git)");
  process.exit(2);
}

const fromIndex = process.argv[2] === "--from" ? Number(process.argv[3]) : 0;
let current = null;
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    if (current) execFileSync("git", ["checkout", "--", current]);
    process.exit(130);
  });

let caught = 0;
let tried = 0;
for (const [what, file, from, to] of mutations.slice(fromIndex)) {
  const text = readFileSync(file, "utf8");
  if (text.split(from).length !== 2) {
    console.log(`?? ${what}: text not found once in ${file}`);
    continue;
  }
  current = file;
  tried++;
  writeFileSync(file, text.replace(from, to));
  try {
    const r = spawnSync("npx", ["vitest", "run", "--project", "infra"], { encoding: "utf8" });
    const failed = r.status !== 0;
    if (failed) caught++;
    // The test files that failed, as vitest's summary names them.
    const files = [
      ...new Set(
        [
          ...r.stdout
            .replace(/\x1b\[[0-9;]*m/g, "")
            .matchAll(/(infra\/test\/[\w.]+\.test\.ts) \(\d+ tests? \| \d+ failed/g),
        ].map((m) => m[1]),
      ),
    ];
    console.log(`${failed ? "caught" : "MISSED"}  ${what}${failed ? `  (${files.join(", ")})` : ""}`);
  } finally {
    execFileSync("git", ["checkout", "--", file]);
    current = null;
  }
}
console.log(`${caught} of ${tried} mutations caught`);
