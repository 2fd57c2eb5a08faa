/// <reference types="vite/client" />
/**
 * Inputs made by real Nix for the unit tests. Test-only key material: never trust these keys.
 */
import hello2311 from "../fixtures/cache-nixos-org/n5glp21rsz314qssw9fbvfswgy3kc68f.narinfo?raw";
import hello2405 from "../fixtures/cache-nixos-org/3acqrvb06vw0w3s9fa3wci433snbi2bg.narinfo?raw";
import hello2511 from "../fixtures/cache-nixos-org/c12lxpykv6sld7a0sakcnr3y0la70x8w.narinfo?raw";
import caExpected from "../fixtures/nix-2.8-ca/expected.json";

const caNarinfos: Record<string, string> = import.meta.glob("../fixtures/nix-2.8-ca/*.narinfo", {
  query: "?raw",
  import: "default",
  eager: true,
});

/** cache.nixos.org's public key (nix.conf default; RFC 149: never rotated). */
export const CACHE_NIXOS_ORG_KEY = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";

/** Real cache.nixos.org narinfos, see test/fixtures/cache-nixos-org/README.md. */
export const CACHE_NIXOS_ORG_NARINFOS: Readonly<Record<string, string>> = {
  n5glp21rsz314qssw9fbvfswgy3kc68f: hello2311,
  "3acqrvb06vw0w3s9fa3wci433snbi2bg": hello2405,
  c12lxpykv6sld7a0sakcnr3y0la70x8w: hello2511,
};

/** docs/protocol.md's narinfo: Nix 2.8.0, `nix copy --to file://…?compression=xz`, key cache-test-1 (unknown here). */
export const PROTOCOL_NARINFO = `StorePath: /nix/store/8bxrx1z5h8ahx4wg51pp3gkni4q6xcai-feas-app
URL: nar/0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm.nar.xz
Compression: xz
FileHash: sha256:0y3yx9bxjm6vlsmgv4sk05bkb1gwyhpbn9749mbibf2ln9rkf8lm
FileSize: 244
NarHash: sha256:0y080qp2yp3rhlndfjp9ywsbmq94dbci0iayilyrf841m2cg0khs
NarSize: 552
References: d5yyw2049mh4jpnzspqdl8qmw8lb9vi5-feas-dep
Deriver: s2bxa55kccmmq8b59fm9i450dyv8br1n-feas-app.drv
Sig: cache-test-1:NzXtVG4bylAyTq6fpzXA5LGIuY+oKGlQU5nS59Pr+4B3SMOcUYLCNbASgUSQRrmQRphHyPm7wbN4ALJKi+beDw==
`;

/** `nix-store --generate-binary-cache-key edge-test-1 sk pk` (Nix 2.8.0). */
export const NIX_TEST_SECRET_KEY =
  "edge-test-1:85SEB1IKc5La9/JIbUROEV7IL9hBU7FGDe7l1sM2AaDRzwcF3b9Q/l3sG9Bq1ZZC2YdyLX4AYdYg6l5t7eFkEQ==";
export const NIX_TEST_PUBLIC_KEY = "edge-test-1:0c8HBd2/UP5d7BvQatWWQtmHci1+AGHWIOpebe3hZBE=";

/**
 * Signed with NIX_TEST_SECRET_KEY by Nix 2.8.0: a store path built from a derivation referring to
 * dep.txt, `nix copy --to 'file://…?compression=zstd&secret-key=sk'`.
 */
export const NIX_SIGNED_WITH_REFERENCE = `StorePath: /nix/store/v9j3k955bynw742n6rkdqbg2njdv6v9s-edge-app
URL: nar/1m3qyi24ckpy2i4lsyhdynmd218ym4kw2nnm2djm6mjq9nq9snj7.nar.zst
Compression: zstd
FileHash: sha256:1m3qyi24ckpy2i4lsyhdynmd218ym4kw2nnm2djm6mjq9nq9snj7
FileSize: 129
NarHash: sha256:17ni2izdijzhmn1h96j1jb8a4r8wkvxv96xbii66wjq9sx6slyhi
NarSize: 168
References: l43qfskksv9l99ia2xisvqvn9cpggyd7-dep.txt
Deriver: fjfgm9ghms79dnh2ws4avg2r1c27gz5h-edge-app.drv
Sig: edge-test-1:pv6O3+CEgA8kg1RBYW2C7BXf0sL2ubzmmBjaafGfDE1WMKMk+wsniJOHVWIikuAC3I2yTidJ2cOhGOSr/PKUCQ==
`;

/** Same key, `nix-store --add dep.txt` then `nix copy … ?compression=xz`: no references, a CA line. */
export const NIX_SIGNED_CONTENT_ADDRESSED = `StorePath: /nix/store/l43qfskksv9l99ia2xisvqvn9cpggyd7-dep.txt
URL: nar/1xsjkazpfgyyy38br89kz2plvdb4dkqcjl5mh0n2py3ndf0sc48j.nar.xz
Compression: xz
FileHash: sha256:1xsjkazpfgyyy38br89kz2plvdb4dkqcjl5mh0n2py3ndf0sc48j
FileSize: 128
NarHash: sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv
NarSize: 120
References: 
Sig: edge-test-1:GX8UoL1g3MhjFbpSIpVxVg2qkmbB56QpQS38Xy8+rfSTYwwMmMv4vH3r97RGh4AnUs7CU/Tw8wnMOhUl9zvDAQ==
CA: fixed:r:sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv
`;

/**
 * Unsigned content-addressed narinfos written by Nix 2.8.0 (`nix copy --to file://…`), one per CA form, made by
 * test/fixtures/make-ca-fixtures.sh; Nix 2.8 itself accepts each with no trusted key. By narinfo file name.
 */
export const NIX_CONTENT_ADDRESSED: Readonly<
  Record<string, { form: string; how: string; storePath: string; text: string }>
> = Object.fromEntries(
  caExpected.paths.map((p) => {
    const text = caNarinfos[`../fixtures/nix-2.8-ca/${p.narinfoFile}`];
    if (text === undefined) throw new Error(`missing fixture ${p.narinfoFile}`);
    return [p.narinfoFile, { form: p.form, how: p.how, storePath: p.storePath, text }];
  }),
);
