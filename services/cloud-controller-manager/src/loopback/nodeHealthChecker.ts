import http from "node:http";
import type { Node } from "@kubelab/api";
import { nodeAddress } from "./targets.js";

const CHECK_TIMEOUT_MS = 1000;

/** One GET of a node's health check; true on 200 (kube-proxy: the node has local endpoints). */
function check(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port, path: "/healthz", timeout: CHECK_TIMEOUT_MS, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

/**
 * A load balancer's health check of its nodes, as a cloud's: every interval an HTTP GET of
 * /healthz on each node's healthCheckNodePort; the nodes that answered 200 last time are
 * healthy. `onChange` is called when that set changes.
 */
export class NodeHealthChecker {
  healthy = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private nodes: readonly Node[] = [];

  constructor(
    private port: number,
    private readonly intervalMs: number,
    private readonly onChange: () => void,
  ) {}

  /** Sets what to check and checks once now; resolves when that round is done. */
  async update(nodes: readonly Node[], port: number): Promise<void> {
    this.nodes = nodes;
    this.port = port;
    await this.round();
    this.timer ??= setInterval(() => void this.round(), this.intervalMs);
  }

  private async round(): Promise<void> {
    const port = this.port;
    const results = await Promise.all(this.nodes.map(async (n) => [n.metadata!.name, await check(nodeAddress(n), port)] as const));
    const next = new Set(results.filter(([, ok]) => ok).map(([name]) => name));
    const changed = next.size !== this.healthy.size || [...next].some((n) => !this.healthy.has(n));
    this.healthy = next;
    if (changed) this.onChange();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
