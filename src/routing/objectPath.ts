/**
 * Encodes an object key for a URL path, segment by segment. `+` becomes `%2B`: S3 reads a raw `+` as a space,
 * which is why logs of derivations with `+` in their names once went missing on cache.nixos.org (docs/protocol.md).
 */
/** Characters encodeURIComponent leaves as they are (ECMA-262, its unreserved set), and the separator '/'. */
const UNRESERVED_PATH = /^[A-Za-z0-9\-_.!~*'()/]*$/;

export function encodeObjectPath(key: string): string {
  // Most keys (every narinfo, nix32-named NARs) hold only characters encodeURIComponent keeps: nothing to split.
  if (UNRESERVED_PATH.test(key)) return key;
  return key.split("/").map(encodeURIComponent).join("/");
}
