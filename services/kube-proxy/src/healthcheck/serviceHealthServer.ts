import http from "node:http";
import type { Logger } from "@kubelab/service-kit";

export interface ServiceHealth {
  namespace: string;
  name: string;
  localEndpoints: number;
}

/**
 * kube-proxy's answer on a Service's healthCheckNodePort, as its healthcheck package writes it:
 * 200 when this node has ready endpoints of the Service and the proxy is healthy, 503 otherwise;
 * the body says which Service and how many local endpoints, the weight header the same count.
 */
export function healthCheckResponse(
  svc: ServiceHealth,
  proxyHealthy: boolean,
): { status: number; headers: Record<string, string>; body: string } {
  const body = [
    "{",
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(svc.namespace)},`,
    `\t\t"name": ${JSON.stringify(svc.name)}`,
    "\t},",
    `\t"localEndpoints": ${svc.localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    "}",
  ].join("\n");
  return {
    status: svc.localEndpoints > 0 && proxyHealthy ? 200 : 503,
    headers: {
      "Content-Type": "application/json",
      "X-Content-Type-Options": "nosniff",
      "X-Load-Balancing-Endpoint-Weight": String(svc.localEndpoints),
    },
    body,
  };
}

interface Listener {
  server: http.Server;
  health: ServiceHealth;
  failed: boolean;
}

/**
 * One HTTP server per healthCheckNodePort, on every address of the node, as kube-proxy's
 * ServiceHealthServer: opened when a Local LoadBalancer appears, its count updated in place,
 * closed when the Service goes or stops needing it.
 */
export class ServiceHealthServer {
  private readonly listeners = new Map<number, Listener>();

  constructor(
    private readonly address: string,
    private readonly proxyHealthy: () => boolean,
    private readonly log: Logger,
  ) {}

  sync(wanted: Map<number, ServiceHealth>): void {
    for (const [port, l] of this.listeners) {
      if (!wanted.has(port) || l.failed) {
        l.server.close();
        this.listeners.delete(port);
      }
    }
    for (const [port, health] of wanted) {
      const cur = this.listeners.get(port);
      if (cur) {
        cur.health = health;
        continue;
      }
      const l: Listener = { server: undefined as unknown as http.Server, health, failed: false };
      l.server = http.createServer((_req, res) => {
        const r = healthCheckResponse(l.health, this.proxyHealthy());
        res.writeHead(r.status, r.headers).end(r.body);
      });
      // The check is a short request from a load balancer; keep-alive would only hold sockets.
      l.server.keepAliveTimeout = 0;
      l.server.on("error", (e: NodeJS.ErrnoException) => {
        l.failed = true;
        this.log.warn("cannot serve a health check node port", {
          port,
          service: `${health.namespace}/${health.name}`,
          error: e.code ?? e.message,
        });
      });
      l.server.listen({ host: this.address, port });
      this.listeners.set(port, l);
    }
  }

  close(): void {
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
  }
}
