import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/**
 * /metrics on a listener of its own (issue 11 #10): the admin port is reachable by everyone who
 * may log in, while scrape data (tenant counts, request rates) is for the operator's Prometheus,
 * so it is served where only the host or the monitoring network reaches (127.0.0.1 by default).
 */
export class MetricsServer {
  private readonly server: http.Server;

  constructor(registry: Registry) {
    this.server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      if ((req.method !== "GET" && req.method !== "HEAD") || path !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: this listener serves GET /metrics\n");
        return;
      }
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${err.message}\n`),
      );
    });
    this.server.keepAliveTimeout = 60_000;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
