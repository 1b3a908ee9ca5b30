import net from "node:net";
import type { Logger } from "@kubelab/service-kit";
import type { LoadBalancerMetrics } from "./metrics.js";
import type { SourceFilter } from "./sourceRanges.js";
import type { Target } from "./targets.js";

const MAX_ATTEMPTS = 3;
const targetKey = (t: Target) => `${t.ip}:${t.port}`;

/**
 * One port of one load balancer: a TCP listener on ADDRESS:port that splices each connection
 * to a target (a node's NodePort, or an endpoint), the one with the fewest open connections
 * (ties in turn). Sources outside loadBalancerSourceRanges are reset; connections beyond the
 * bound are refused by the kernel-facing accept (net.Server's maxConnections); a target that
 * does not connect is replaced by another, up to three tries. Data moves with pipe(), so a slow
 * side holds the other back (backpressure) rather than filling memory.
 */
export class PortBalancer {
  private readonly server: net.Server;
  private targets: Target[] = [];
  private allow: SourceFilter = () => true;
  private readonly open = new Map<string, number>();
  private turn = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    private readonly service: string,
    private readonly opts: { maxConnections: number; connectTimeoutMs: number; metrics: LoadBalancerMetrics; log: Logger },
  ) {
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => this.onConnection(c));
    this.server.maxConnections = opts.maxConnections;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once("error", onError);
      this.server.listen({ host: this.address, port: this.port }, () => {
        this.server.off("error", onError);
        this.server.on("error", (e) =>
          this.opts.log.warn("load balancer listener failed", { address: `${this.address}:${this.port}`, error: e }),
        );
        resolve();
      });
    });
  }

  update(targets: Target[], allow: SourceFilter): void {
    this.targets = targets;
    this.allow = allow;
  }

  get targetNames(): string[] {
    return this.targets.map((t) => t.name);
  }

  /** Stops accepting; connections already open finish what they carry. */
  close(): void {
    this.server.close();
  }

  /** The target with the fewest open connections, not yet tried for this connection. */
  private pick(tried: ReadonlySet<string>): Target | undefined {
    const n = this.targets.length;
    let best: Target | undefined;
    let bestOpen = Infinity;
    for (let i = 0; i < n; i++) {
      const t = this.targets[(this.turn + i) % n]!;
      if (tried.has(targetKey(t))) continue;
      const o = this.open.get(targetKey(t)) ?? 0;
      if (o < bestOpen) {
        best = t;
        bestOpen = o;
      }
    }
    this.turn = (this.turn + 1) % Math.max(n, 1);
    return best;
  }

  private onConnection(client: net.Socket): void {
    client.on("error", () => undefined);
    const m = this.opts.metrics;
    if (!this.allow(client.remoteAddress)) {
      m.refused.inc({ service: this.service, reason: "source-range" });
      client.resetAndDestroy();
      return;
    }
    const tried = new Set<string>();
    const attempt = () => {
      const t = this.pick(tried);
      if (!t) {
        m.refused.inc({ service: this.service, reason: "no-targets" });
        client.resetAndDestroy();
        return;
      }
      const key = targetKey(t);
      this.open.set(key, (this.open.get(key) ?? 0) + 1);
      const up = net.connect({ host: t.ip, port: t.port, timeout: this.opts.connectTimeoutMs, allowHalfOpen: true, noDelay: true });
      let connected = false;
      up.once("timeout", () => !connected && up.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })));
      up.once("connect", () => {
        connected = true;
        up.setTimeout(0);
        m.connections.inc({ service: this.service, target: t.name });
        client.pipe(up).pipe(client);
      });
      up.once("close", () => {
        const left = (this.open.get(key) ?? 1) - 1;
        if (left > 0) this.open.set(key, left);
        else this.open.delete(key);
      });
      up.on("error", (err: NodeJS.ErrnoException) => {
        m.targetErrors.inc({ service: this.service, target: t.name, reason: err.code ?? "error" });
        if (!connected && tried.size + 1 < MAX_ATTEMPTS && !client.destroyed) {
          tried.add(key);
          attempt();
        } else client.destroy();
      });
      client.once("close", () => up.destroy());
    };
    attempt();
  }
}
