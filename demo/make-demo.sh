#!/usr/bin/env bash
# Recipe for the demo binary cache that `npm start` seeds into local R2 (see README.md here).
# Needs: nix-bin (Nix 2.8.0, as root, no daemon), jq. No network.
# Idempotent: the demo key is made once and kept; store paths depend only on the derivation
# text below and Ed25519 signatures are deterministic, so a rerun rewrites identical files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nix=(nix --extra-experimental-features nix-command)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. Demo key pair: public on purpose, for the local demo only.
mkdir -p "$here/keys"
sk="$here/keys/nix-edge-cache-demo-1.sk" pk="$here/keys/nix-edge-cache-demo-1.pk"
if [[ ! -s $sk || ! -s $pk ]]; then
  nix-store --generate-binary-cache-key nix-edge-cache-demo-1 "$sk" "$pk"
fi

# 2. Two tiny paths built with /bin/sh only (no nixpkgs): a greeting text file, and a hello
#    package whose script refers to it, so the narinfo has References and the closure has 2 paths.
cat >"$work/demo.nix" <<'EOF'
let
  mk = name: script: attrs: builtins.derivation ({
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  } // attrs);
  greeting = mk "nix-edge-cache-demo-greeting" ''
    echo "Hello from the nix-edge-cache demo! If you are reading this after nix-store -r," > $out
    echo "Nix substituted this path from the demo binary cache (npm start, 127.0.0.1:8787)." >> $out
  '' { };
in {
  inherit greeting;
  hello = mk "nix-edge-cache-demo-hello" ''
    mkdir -p $out/bin
    printf '#!/bin/sh\n# nix-edge-cache demo: prints a greeting that came from the demo cache\nexec cat %s\n' \
      "$greeting" > $out/bin/nix-edge-cache-demo-hello
    chmod +x $out/bin/nix-edge-cache-demo-hello
  '' { inherit greeting; };
}
EOF
build() { nix-build "$work/demo.nix" -A "$1" --no-out-link --option substituters '' --option sandbox false; }
greeting="$(build greeting)" hello="$(build hello)"

# 3. Sign the closure and write a zstd file:// cache with .ls listings, via a temp dir
#    (nix copy skips paths whose narinfo already exists, so never copy into an old cache).
"${nix[@]}" store sign --key-file "$sk" -r "$hello"
"${nix[@]}" copy --to "file://$work/cache?compression=zstd&write-nar-listing=1" "$hello"
# Nix must accept the cache with the demo key.
"${nix[@]}" store verify --store "file://$work/cache" --trusted-public-keys "$(cat "$pk")" -r "$hello"
# Opening a file:// store makes empty log/ and realisations/ dirs; git keeps no empty dirs.
rmdir "$work/cache/log" "$work/cache/realisations"
rm -rf "$here/cache"
mv "$work/cache" "$here/cache"

# 4. What `npm start` needs to know: the key to print and the paths to suggest.
jq -n --arg pk "$(cat "$pk")" --arg top "$hello" --arg g "$greeting" \
  '{publicKey: $pk, paths: [$g, $top], top: $top}' >"$here/demo.json"
echo "demo cache written to $here/cache; top path $hello"
