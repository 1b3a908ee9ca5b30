import net from "node:net";
import { backendKey } from "./backendPool.js";
import type { ProxyMetrics } from "./proxyMetrics.js";
import type { ServiceTarget } from "./serviceTarget.js";

const MAX_ATTEMPTS = 3;

/**
 * The TCP side of a service port: each connection is spliced to one ready endpoint, another one
 * tried when connecting fails. No endpoint: the connection is reset, as Kubernetes' proxy
 * rejects it.
 */
export function tcpProxy(target: () => ServiceTarget | undefined, deps: { metrics: ProxyMetrics; connectTimeoutMs: number }) {
  return (client: net.Socket): void => {
    client.on("error", () => undefined);
    const t = target();
    const tried = new Set<string>();
    const attempt = () => {
      const b = t?.pool.pick(client.remoteAddress ?? "", tried);
      if (!t || !b) {
        deps.metrics.noEndpoints.inc({ service: t?.rule.id ?? "" });
        client.resetAndDestroy();
        return;
      }
      const key = backendKey(b);
      const backend = b.label;
      t.pool.acquire(b);
      // Half-closes pass through: a client that sends and then shuts its side still gets the answer.
      const up = net.connect({ host: b.ip, port: b.port, timeout: deps.connectTimeoutMs, allowHalfOpen: true });
      let connected = false;
      up.once("timeout", () => !connected && up.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })));
      up.once("connect", () => {
        connected = true;
        up.setTimeout(0);
        deps.metrics.connections.inc({ service: t.rule.id, backend });
        client.pipe(up).pipe(client);
      });
      up.once("close", () => t.pool.release(b));
      up.on("error", (err: NodeJS.ErrnoException) => {
        deps.metrics.upstreamErrors.inc({ service: t.rule.id, backend, reason: err.code ?? "error" });
        if (!connected && tried.size + 1 < MAX_ATTEMPTS && !client.destroyed) {
          tried.add(key);
          attempt();
        } else client.destroy();
      });
      client.once("close", () => up.destroy());
    };
    attempt();
  };
}
