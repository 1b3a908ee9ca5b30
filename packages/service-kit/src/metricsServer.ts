import http from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";

/** A page served besides /metrics: its body, rendered per request. */
export type MetricsRoute = (req: http.IncomingMessage) => Promise<{ contentType: string; body: string }>;

export interface MetricsServer {
  registry: Registry;
  close(): Promise<void>;
  port: number;
}

/**
 * How often the event-loop delay behind nodejs_eventloop_lag_* is sampled. prom-client's 10 ms
 * wakes every process a hundred times a second, a cost every idle service pays (figures in
 * bench/RESULTS.md); a delay long enough to matter still spans a 100 ms sample.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * /metrics (Prometheus text), /healthz and /readyz over plain HTTP, as every Kubernetes
 * component serves them, and `routes`: pages at exact paths (the query string aside), matched
 * first so that one under /metrics (the kubelet's /metrics/resource) is not taken for /metrics.
 */
export async function startMetricsServer(
  port: number,
  opts: { host?: string; ready?: () => boolean; registry?: Registry; component: string; routes?: Record<string, MetricsRoute> },
): Promise<MetricsServer> {
  const registry = opts.registry ?? new Registry();
  registry.setDefaultLabels({ component: opts.component });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const path = url.split("?")[0]!;
    const route = opts.routes && Object.hasOwn(opts.routes, path) ? opts.routes[path] : undefined;
    if (route) {
      route(req)
        .then(({ contentType, body }) => {
          res.writeHead(200, { "content-type": contentType });
          res.end(body);
        })
        .catch((e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        });
    } else if (url.startsWith("/metrics")) {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(body);
        })
        .catch((e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        });
    } else if (url.startsWith("/healthz") || url.startsWith("/livez")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    } else if (url.startsWith("/readyz")) {
      const ready = opts.ready?.() ?? true;
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" });
      res.end(ready ? "ok" : "not ready");
    } else {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const addr = server.address();
  return {
    registry,
    port: typeof addr === "object" && addr ? addr.port : port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
