/**
 * The single cache-key function, imported by the cache worker (to put and match) and the admin worker (to purge),
 * so that a purge always names exactly what was cached. Keys are URLs on the public hostname because the zone
 * purge API removes Cache API entries by URL.
 */
import { encodeObjectPath } from "./objectPath";

export function cacheKeyUrl(publicBase: string, objectKey: string): string {
  const base = publicBase.endsWith("/") ? publicBase.replace(/\/+$/, "") : publicBase;
  // One encoding for every spelling a client may use (`+`, `%2B`, `%2b`): the key is built from the decoded object key.
  return `${base}/${encodeObjectPath(objectKey)}`;
}

export function cacheKeyRequest(publicBase: string, objectKey: string, range?: string | null): Request {
  const headers = new Headers();
  if (range) headers.set("range", range);
  return new Request(cacheKeyUrl(publicBase, objectKey), { method: "GET", headers });
}
