import net from "node:net";
import type { Logger } from "@kubelab/service-kit";
import type { ProxyMode } from "../rules/servicePorts.js";
import { httpProxy, type HttpProxyDeps } from "./httpProxy.js";
import type { ServiceTarget } from "./serviceTarget.js";
import { tcpProxy } from "./tcpProxy.js";

export interface ListenerSpec {
  address: string;
  port: number;
  mode: ProxyMode;
  target: ServiceTarget;
}

interface Listener {
  spec: ListenerSpec;
  server: net.Server;
  state: "listening" | "opening" | "failed";
}

const keyOf = (s: { address: string; port: number }) => `${s.address}:${s.port}`;

/**
 * The sockets this proxy listens on, one per ClusterIP:port and per NodePort. A listener that
 * stays (same address, port and mode) only has its target swapped; one that goes stops
 * accepting and lets its open requests finish.
 */
export class ListenerSet {
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly deps: HttpProxyDeps,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return [...this.listeners.values()].filter((l) => l.state === "listening").length;
  }

  /** Makes the listening sockets match `desired`; failed binds are tried again on the next call. */
  reconcile(desired: ListenerSpec[]): void {
    const want = new Map(desired.map((d) => [keyOf(d), d]));
    for (const [k, l] of this.listeners) {
      const d = want.get(k);
      if (!d || d.mode !== l.spec.mode || l.state === "failed") this.close(k);
    }
    for (const [k, d] of want) {
      const cur = this.listeners.get(k);
      if (cur) cur.spec = d;
      else this.open(k, d);
    }
  }

  private open(k: string, spec: ListenerSpec): void {
    const l: Listener = { spec, server: undefined as unknown as net.Server, state: "opening" };
    const target = () => l.spec.target;
    l.server = net.createServer(
      { allowHalfOpen: true, noDelay: true },
      spec.mode === "http" ? httpProxy(target, this.deps) : tcpProxy(target, this.deps),
    );
    l.server.on("error", (e: NodeJS.ErrnoException) => {
      l.state = "failed";
      this.log.warn("cannot listen for a service", { address: k, service: l.spec.target.rule.id, error: e.code ?? e.message });
    });
    l.server.listen({ host: spec.address, port: spec.port }, () => {
      l.state = "listening";
    });
    this.listeners.set(k, l);
  }

  private close(k: string): void {
    const l = this.listeners.get(k);
    if (!l) return;
    this.listeners.delete(k);
    // Stops accepting; connections already open finish what they carry.
    l.server.close();
  }

  closeAll(): void {
    for (const k of [...this.listeners.keys()]) this.close(k);
  }
}
