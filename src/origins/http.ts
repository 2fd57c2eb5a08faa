/** An upstream binary cache over HTTP(S), such as cache.nixos.org. */
import { fetchHttpObject } from "./httpObject";
import { encodeObjectPath } from "../routing/objectPath";
import type { FetchOptions, Origin, OriginAnswer } from "./origin";
import type { Timeouts } from "./timeouts";

// Nix treats 403 as absent for every file but nix-cache-info (docs/protocol.md), and so do we for upstreams.
const isAbsent = (status: number) => status === 403 || status === 404 || status === 410;

export class HttpOrigin implements Origin {
  readonly type = "http";

  constructor(
    readonly name: string,
    private readonly baseUrl: string,
    private readonly timeouts: Timeouts,
  ) {}

  fetch(key: string, options: FetchOptions): Promise<OriginAnswer> {
    return fetchHttpObject({
      origin: this.name,
      url: `${this.baseUrl.replace(/\/+$/, "")}/${encodeObjectPath(key)}${options.query ?? ""}`,
      options,
      timeouts: this.timeouts,
      isAbsent,
      // No client headers are forwarded: upstreams see only what they need to answer. `identity`: a server that
      // compresses on the fly must not hand over compressed bytes of a NAR the narinfo says are stored as they are
      // (Cloudflare's fetch asks for gzip/br otherwise); stored encodings still come with their header.
      headers: { accept: "*/*", "accept-encoding": "identity" },
    });
  }
}
