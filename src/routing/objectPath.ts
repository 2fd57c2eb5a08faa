/**
 * Encodes an object key for a URL path, segment by segment. `+` becomes `%2B`: S3 reads a raw `+` as a space,
 * which is why logs of derivations with `+` in their names once went missing on cache.nixos.org (docs/protocol.md).
 */
export function encodeObjectPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
