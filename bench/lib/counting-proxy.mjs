// A transparent HTTP proxy on loopback that counts what reaches the S3 server: requests by method and answer
// status, and the bytes S3 sends back (what S3 bills as data transfer out when the reader is outside AWS). The
// Host header goes through as received, so the SigV4 signature the worker made for the proxy's host:port still
// verifies at the S3 server.
import http from "node:http";

/** Starts the proxy in this process; returns { endpoint, snapshot(), reset(), close() }. */
export async function startCountingProxy(targetPort) {
  let stats = fresh();
  function fresh() {
    return { requests: {}, egressBytes: 0, ingressBytes: 0 };
  }
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const upstream = http.request(
      { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const status = upRes.statusCode ?? 0;
        const key = `${req.method} ${status}`;
        stats.requests[key] = (stats.requests[key] ?? 0) + 1;
        res.writeHead(status, upRes.headers);
        upRes.on("data", (d) => (stats.egressBytes += d.length));
        upRes.pipe(res);
      },
    );
    req.on("data", (d) => (stats.ingressBytes += d.length));
    upstream.on("error", () => {
      const key = `${req.method} error`;
      stats.requests[key] = (stats.requests[key] ?? 0) + 1;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(undefined));
  });
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    /** Counts since the last reset: { requests: { "GET 200": n, … }, egressBytes, ingressBytes }. */
    snapshot: () => JSON.parse(JSON.stringify(stats)),
    reset: () => (stats = fresh()),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
