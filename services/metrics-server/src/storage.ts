import type { ContainerResourceStats, PodResourceStats, ResourceMetricsSnapshot, ResourceUsage } from "@kubelab/service-kit";

/** One scrape of one kubelet, as parsed from its /metrics/resource. */
export type NodeScrape = Pick<ResourceMetricsSnapshot, "node"> & {
  pods: Array<Pick<PodResourceStats, "namespace" | "name" | "containers">>;
};

/** A usage over a window: cpu as a rate (cores), memory as the latest working set. */
export interface Usage {
  cpuCores: number;
  memoryBytes: number;
  timestampMs: number;
  windowMs: number;
}

export interface PodUsage {
  namespace: string;
  name: string;
  timestampMs: number;
  windowMs: number;
  containers: Array<{ name: string; cpuCores: number; memoryBytes: number }>;
}

/**
 * The rate between two cumulative readings. A counter that went backwards (a container that
 * restarted without a new start time, a node container recreated) gives no rate.
 */
function rate(prev: ResourceUsage, last: ResourceUsage): Usage | undefined {
  const windowMs = last.timestampMs - prev.timestampMs;
  if (windowMs <= 0 || last.cpuUsageSeconds < prev.cpuUsageSeconds) return undefined;
  return {
    cpuCores: (last.cpuUsageSeconds - prev.cpuUsageSeconds) / (windowMs / 1000),
    memoryBytes: last.memoryWorkingSetBytes,
    timestampMs: last.timestampMs,
    windowMs,
  };
}

interface Pair<T> {
  prev?: T;
  last: T;
}

const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * metrics-server's storage: for every node and every container, the last two readings and
 * nothing older, so what it holds is bounded by what the kubelets run. A usage is the rate between
 * those two (metrics-server's "window"); a node, pod or container seen once has no usage yet. A
 * container that restarted between the readings counts from its start, where its counter was 0
 * (as metrics-server does). A pod is reported only when every container it showed has a usage,
 * so a pod's sum is never short of a container. Nodes and pods a scrape no longer shows are
 * dropped.
 */
export class MetricsStorage {
  private readonly nodes = new Map<string, Pair<ResourceUsage>>();
  /** Pods by namespace/name, with the node whose scrape last showed them. */
  private readonly pods = new Map<
    string,
    { node: string; namespace: string; name: string; containers: Map<string, Pair<ContainerResourceStats>> }
  >();

  /** Takes one kubelet's scrape, replacing what that node showed before. */
  store(nodeName: string, scrape: NodeScrape): void {
    const n = this.nodes.get(nodeName);
    if (scrape.node)
      this.nodes.set(nodeName, { prev: n && n.last.timestampMs < scrape.node.timestampMs ? n.last : n?.prev, last: scrape.node });
    const seen = new Set<string>();
    for (const pod of scrape.pods) {
      const key = podKey(pod.namespace, pod.name);
      seen.add(key);
      const old = this.pods.get(key);
      const containers = new Map<string, Pair<ContainerResourceStats>>();
      for (const c of pod.containers) {
        const before = old?.node === nodeName ? old.containers.get(c.name) : undefined;
        let prev = before && before.last.timestampMs < c.timestampMs ? before.last : before?.prev;
        if (prev && prev.startTimeSeconds < c.startTimeSeconds) {
          prev = { ...c, cpuUsageSeconds: 0, timestampMs: c.startTimeSeconds * 1000 };
        }
        containers.set(c.name, { prev, last: c });
      }
      this.pods.set(key, { node: nodeName, namespace: pod.namespace, name: pod.name, containers });
    }
    for (const [key, p] of this.pods) if (p.node === nodeName && !seen.has(key)) this.pods.delete(key);
  }

  /** Drops a node that is gone (deleted from the API), with its pods. */
  forgetNode(nodeName: string): void {
    this.nodes.delete(nodeName);
    for (const [key, p] of this.pods) if (p.node === nodeName) this.pods.delete(key);
  }

  nodeUsage(nodeName: string): Usage | undefined {
    const n = this.nodes.get(nodeName);
    return n?.prev ? rate(n.prev, n.last) : undefined;
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  podUsage(namespace: string, name: string): PodUsage | undefined {
    const p = this.pods.get(podKey(namespace, name));
    if (!p || p.containers.size === 0) return undefined;
    const out: PodUsage = { namespace, name, timestampMs: 0, windowMs: 0, containers: [] };
    for (const [cname, pair] of p.containers) {
      const u = pair.prev ? rate(pair.prev, pair.last) : undefined;
      if (!u) return undefined;
      out.containers.push({ name: cname, cpuCores: u.cpuCores, memoryBytes: u.memoryBytes });
      // The pod's timestamp and window are its latest container's, as metrics-server reports them.
      if (u.timestampMs >= out.timestampMs) {
        out.timestampMs = u.timestampMs;
        out.windowMs = u.windowMs;
      }
    }
    out.containers.sort((a, b) => a.name.localeCompare(b.name));
    return out;
  }

  /** Every pod's namespace and name (those with and without a usage yet). */
  podKeys(): Array<{ namespace: string; name: string }> {
    return [...this.pods.values()].map((p) => ({ namespace: p.namespace, name: p.name }));
  }
}
