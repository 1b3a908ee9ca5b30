import { isNodeReady, type Endpoints, type Node, type Service, type ServicePort } from "@kubelab/api";

/** Where a load balancer port sends a connection. */
export interface Target {
  ip: string;
  port: number;
  /** "node-1" or "pod@ip", for logs and metrics. */
  name: string;
}

/** Nodes never put behind a load balancer, as Kubernetes' service controller excludes them. */
export const EXCLUDE_FROM_LOAD_BALANCERS_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";

/** A node's address as the load balancer reaches it: its InternalIP. */
export const nodeAddress = (n: Node): string => n.status?.addresses.find((a) => a.type === "InternalIP")?.address ?? "";

/**
 * The nodes the service controller gives a load balancer (its node predicates): those with an
 * address and without the exclusion label. Whether each may take traffic is the targets' call.
 */
export function loadBalancerNodes(nodes: readonly Node[]): Node[] {
  return nodes
    .filter((n) => nodeAddress(n) && !Object.hasOwn(n.metadata?.labels ?? {}, EXCLUDE_FROM_LOAD_BALANCERS_LABEL))
    .sort((a, b) => (a.metadata!.name < b.metadata!.name ? -1 : 1));
}

/**
 * The targets of one port of a load balancer:
 * - allocateLoadBalancerNodePorts false: the Service's ready endpoints for that port, directly;
 * - externalTrafficPolicy Cluster: every Ready node, at the port's NodePort (the node's
 *   kube-proxy balances over all endpoints);
 * - externalTrafficPolicy Local: the nodes whose kube-proxy answers 200 on the healthCheckNodePort,
 *   i.e. those with a ready endpoint of their own (a real cloud's load balancer health-checks the
 *   same port); the kube-proxy there sends only to its node's endpoints.
 */
export function portTargets(
  svc: Service,
  port: ServicePort,
  nodes: readonly Node[],
  healthyNodes: ReadonlySet<string>,
  endpoints: Endpoints | undefined,
): Target[] {
  if (svc.spec?.allocateLoadBalancerNodePorts === false && !port.nodePort) {
    const out: Target[] = [];
    for (const subset of endpoints?.subsets ?? []) {
      const ep = subset.ports.find((p) => p.name === port.name) ?? (subset.ports.length === 1 && !port.name ? subset.ports[0] : undefined);
      if (!ep) continue;
      for (const a of subset.addresses) out.push({ ip: a.ip, port: ep.port, name: `${a.targetRef?.name ?? "endpoint"}@${a.ip}` });
    }
    return out;
  }
  if (!port.nodePort) return [];
  const local = svc.spec?.externalTrafficPolicy === "Local";
  return nodes
    .filter((n) => (local ? healthyNodes.has(n.metadata!.name) : isNodeReady(n)))
    .map((n) => ({ ip: nodeAddress(n), port: port.nodePort, name: n.metadata!.name }));
}
