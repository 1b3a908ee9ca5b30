import { create } from "@bufbuild/protobuf";
import {
  LoadBalancerIngressSchema,
  LoadBalancerStatusSchema,
  type Endpoints,
  type LoadBalancerStatus,
  type Node,
  type Service,
} from "@kubelab/api";
import { objectKey } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { LoadBalancerProvider } from "../cloudProvider.js";
import { AddressPool } from "./addressPool.js";
import type { LoadBalancerMetrics } from "./metrics.js";
import { NodeHealthChecker } from "./nodeHealthChecker.js";
import { PortBalancer } from "./portBalancer.js";
import { sourceFilter } from "./sourceRanges.js";
import { portTargets } from "./targets.js";

interface LoadBalancer {
  ip: string;
  svc: Service;
  nodes: readonly Node[];
  ports: Map<number, PortBalancer>;
  health?: NodeHealthChecker;
}

export interface LoopbackCloudOptions {
  ipRange: string;
  maxConnectionsPerPort: number;
  connectTimeoutMs: number;
  healthCheckIntervalMs: number;
  endpointsOf: (key: string) => Endpoints | undefined;
  metrics: LoadBalancerMetrics;
  log: Logger;
}

/**
 * The lab's cloud: a load balancer is an address of the host's loopback, taken from a range,
 * with one TCP listener per Service port in this process (which runs in the host's network
 * namespace), splicing connections to the nodes' NodePorts on the lab's networks (or straight
 * to the endpoints when the Service has no NodePorts). UDP and SCTP ports are not served: the
 * lab's kube-proxy carries TCP only, so a NodePort would have nothing behind it.
 */
export class LoopbackCloud implements LoadBalancerProvider {
  private readonly pool: AddressPool;
  private readonly lbs = new Map<string, LoadBalancer>();

  constructor(private readonly opts: LoopbackCloudOptions) {
    this.pool = new AddressPool(opts.ipRange);
  }

  getLoadBalancer(svc: Service): { exists: boolean; status?: LoadBalancerStatus } {
    const lb = this.lbs.get(objectKey(svc));
    return lb ? { exists: true, status: statusOf(lb.ip) } : { exists: false };
  }

  get size(): number {
    return this.lbs.size;
  }

  async ensureLoadBalancer(svc: Service, nodes: readonly Node[]): Promise<LoadBalancerStatus> {
    const key = objectKey(svc);
    const previous = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter(Boolean);
    const got = this.pool.allocate(key, svc.spec?.loadBalancerIp ?? "", previous);
    if ("error" in got) throw new Error(got.error);
    let lb = this.lbs.get(key);
    if (lb && lb.ip !== got.ip) {
      for (const p of lb.ports.values()) p.close();
      lb.ports.clear();
    }
    if (!lb) {
      lb = { ip: got.ip, svc, nodes, ports: new Map() };
      this.lbs.set(key, lb);
      this.opts.metrics.loadBalancers.set(this.lbs.size);
    }
    lb.ip = got.ip;
    lb.svc = svc;
    lb.nodes = nodes;
    const wanted = new Set((svc.spec?.ports ?? []).filter((p) => (p.protocol || "TCP") === "TCP").map((p) => p.port));
    for (const [port, pb] of lb.ports) {
      if (!wanted.has(port)) {
        pb.close();
        lb.ports.delete(port);
      }
    }
    for (const port of wanted) {
      if (lb.ports.has(port)) continue;
      const pb = new PortBalancer(lb.ip, port, key, {
        maxConnections: this.opts.maxConnectionsPerPort,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        metrics: this.opts.metrics,
        log: this.opts.log,
      });
      // A port that cannot be listened on (taken by another process) fails the ensure, which is retried.
      await pb.listen();
      lb.ports.set(port, pb);
    }
    await this.syncHealthChecks(key, lb);
    this.refreshTargets(key);
    return statusOf(lb.ip);
  }

  async updateLoadBalancer(svc: Service, nodes: readonly Node[]): Promise<void> {
    const lb = this.lbs.get(objectKey(svc));
    if (!lb) return;
    lb.svc = svc;
    lb.nodes = nodes;
    await this.syncHealthChecks(objectKey(svc), lb);
    this.refreshTargets(objectKey(svc));
  }

  async ensureLoadBalancerDeleted(svc: Service): Promise<void> {
    const key = objectKey(svc);
    const lb = this.lbs.get(key);
    if (lb) {
      for (const p of lb.ports.values()) p.close();
      lb.health?.stop();
      this.lbs.delete(key);
      this.opts.metrics.loadBalancers.set(this.lbs.size);
    }
    this.pool.release(key);
  }

  /** Recomputes every port's targets (nodes, health or endpoints changed). */
  refreshTargets(key: string): void {
    const lb = this.lbs.get(key);
    if (!lb) return;
    const allow = sourceFilter(lb.svc.spec?.loadBalancerSourceRanges ?? []);
    const eps = this.opts.endpointsOf(key);
    for (const p of lb.svc.spec?.ports ?? []) {
      lb.ports.get(p.port)?.update(portTargets(lb.svc, p, lb.nodes, lb.health?.healthy ?? new Set(), eps), allow);
    }
  }

  /** Every load balancer's targets by port, for logs and tests. */
  targetsOf(key: string): Record<number, string[]> {
    const lb = this.lbs.get(key);
    return Object.fromEntries([...(lb?.ports ?? new Map<number, PortBalancer>())].map(([port, pb]) => [port, pb.targetNames]));
  }

  /** Stops serving everything (this copy stopped leading); the addresses are free for the next leader. */
  closeAll(): void {
    for (const [key, lb] of this.lbs) {
      for (const p of lb.ports.values()) p.close();
      lb.health?.stop();
      this.pool.release(key);
    }
    this.lbs.clear();
  }

  private async syncHealthChecks(key: string, lb: LoadBalancer): Promise<void> {
    const spec = lb.svc.spec;
    const port = spec?.externalTrafficPolicy === "Local" && spec.allocateLoadBalancerNodePorts !== false ? spec.healthCheckNodePort : 0;
    if (!port) {
      lb.health?.stop();
      lb.health = undefined;
      return;
    }
    lb.health ??= new NodeHealthChecker(port, this.opts.healthCheckIntervalMs, () => this.refreshTargets(key));
    await lb.health.update(lb.nodes, port);
  }
}

/** The status of a load balancer at `ip`: ipMode Proxy, since traffic reaches the nodes from this proxy, not addressed to the IP. */
function statusOf(ip: string): LoadBalancerStatus {
  return create(LoadBalancerStatusSchema, { ingress: [create(LoadBalancerIngressSchema, { ip, ipMode: "Proxy" })] });
}
