import type { ContainerResourceStats, PodResourceStats, ResourceMetricsSnapshot, ResourceUsage } from "@kubelab/service-kit";
import type { RuntimeContainer } from "../runtime/dockerRuntime.js";

/** What one scrape read: the node's containers as the runtime lists them, and each one's cgroup reading. */
export interface ResourceObservation {
  containers: readonly RuntimeContainer[];
  /** Readings by container id; a container missing here (it just exited) is left out of the snapshot. */
  usage: ReadonlyMap<string, ResourceUsage>;
  /** The node's own container (the kubelet's), when the node is a container. */
  nodeContainerId?: string;
}

const sum = (parts: readonly ResourceUsage[]): ResourceUsage => ({
  cpuUsageSeconds: parts.reduce((s, p) => s + p.cpuUsageSeconds, 0),
  memoryWorkingSetBytes: parts.reduce((s, p) => s + p.memoryWorkingSetBytes, 0),
  timestampMs: parts.reduce((t, p) => Math.max(t, p.timestampMs), 0),
});

const startTimeSeconds = (startedAt: string) => {
  const ms = Date.parse(startedAt);
  return Number.isNaN(ms) ? 0 : ms / 1000;
};

/**
 * The kubelet's /metrics/resource snapshot from one scrape's readings.
 *
 * A pod's usage is the sum of its running containers' including its sandbox, which a Kubernetes
 * pod's cgroup holds too; the sandbox is not listed among its containers. Should two runs of one
 * container be running at once (a restart overlapping its predecessor's exit), both count toward
 * the pod and the newer stands for the container, so each series has one sample.
 *
 * The node: a real kubelet reports its machine's root cgroup. A lab node's machine is its
 * container and the pods it runs as sibling containers, so the node's usage is its own
 * container's plus all its pods'. Without a node container (a kubelet run outside one), the node
 * is its pods alone (and absent while it has none). With one whose cgroup is not found, the readings are from the wrong place
 * (the kubelet's own cgroup namespace rather than the host's cgroup filesystem), and the scrape
 * fails rather than report a node without itself.
 */
export function buildResourceSnapshot(obs: ResourceObservation): ResourceMetricsSnapshot {
  const nodeUsage = obs.nodeContainerId ? obs.usage.get(obs.nodeContainerId) : undefined;
  if (obs.nodeContainerId && !nodeUsage) return { pods: [], scrapeError: true };
  const byPod = new Map<string, { ref: RuntimeContainer; parts: ResourceUsage[]; containers: Map<string, RuntimeContainer> }>();
  for (const c of obs.containers) {
    const usage = obs.usage.get(c.id);
    if (!usage || c.state !== "running") continue;
    let pod = byPod.get(c.podUid);
    if (!pod) byPod.set(c.podUid, (pod = { ref: c, parts: [], containers: new Map() }));
    pod.parts.push(usage);
    if (c.type === "sandbox") continue;
    const seen = pod.containers.get(c.name);
    if (!seen || c.attempt > seen.attempt) pod.containers.set(c.name, c);
  }
  const pods: PodResourceStats[] = [];
  for (const [uid, { ref, parts, containers }] of byPod) {
    pods.push({
      namespace: ref.podNamespace,
      name: ref.podName,
      uid,
      ...sum(parts),
      containers: [...containers.values()].map(
        (c): ContainerResourceStats => ({ name: c.name, ...obs.usage.get(c.id)!, startTimeSeconds: startTimeSeconds(c.startedAt) }),
      ),
    });
  }
  const nodeParts = [...(nodeUsage ? [nodeUsage] : []), ...pods];
  return { ...(nodeParts.length ? { node: sum(nodeParts) } : {}), pods, scrapeError: false };
}
