// Whether the cluster is where its objects say it should be: what "recovered" means at the end of
// a fault. Pure, over informers' caches, tested beside.
import { isPodReady, LabelSelector, type Deployment, type Endpoints, type Node, type Pod, type Service } from "@kubelab/api";

export interface ClusterObjects {
  deployments: Deployment[];
  pods: Pod[];
  services: Service[];
  endpoints: Endpoints[];
  nodes: Node[];
}

const key = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/**
 * What keeps the desired state from holding, each as one line; empty when it holds:
 * - every Deployment has observed its spec and has its replicas, all updated, Ready and available;
 * - every node is Ready and untainted by the node lifecycle controller, except those a fault
 *   keeps down on purpose (`excludedNodes`);
 * - every Service with a selector lists exactly the Ready pods it selects as ready addresses.
 */
export function desiredStateProblems(objects: ClusterObjects, excludedNodes: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  for (const d of objects.deployments) {
    if (d.metadata?.deletionTimestamp) continue;
    const want = d.spec?.replicas ?? 1;
    const s = d.status;
    if ((s?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
      problems.push(`deployment ${key(d)}: generation ${d.metadata?.generation} not observed yet`);
    else if (s?.replicas !== want || s.updatedReplicas !== want || s.readyReplicas !== want || s.availableReplicas !== want)
      problems.push(
        `deployment ${key(d)}: ${s?.readyReplicas ?? 0}/${want} ready, ${s?.updatedReplicas ?? 0} updated, ${s?.availableReplicas ?? 0} available, ${s?.replicas ?? 0} in all`,
      );
  }
  for (const n of objects.nodes) {
    const name = n.metadata?.name ?? "";
    if (excludedNodes.has(name)) continue;
    const ready = n.status?.conditions.find((c) => c.type === "Ready")?.status ?? "Unknown";
    if (ready !== "True") problems.push(`node ${name}: Ready=${ready}`);
    const taints = (n.spec?.taints ?? []).filter(
      (t) => t.key === "node.kubernetes.io/unreachable" || t.key === "node.kubernetes.io/not-ready",
    );
    if (taints.length) problems.push(`node ${name}: tainted ${taints.map((t) => `${t.key}:${t.effect}`).join(", ")}`);
  }
  const endpointsByKey = new Map(objects.endpoints.map((e) => [key(e), e]));
  for (const svc of objects.services) {
    const selector = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0 || svc.metadata?.deletionTimestamp) continue;
    const match = LabelSelector.fromMessage({ matchLabels: selector, matchExpressions: [] });
    const want = new Set(
      objects.pods
        .filter(
          (p) =>
            p.metadata?.namespace === svc.metadata?.namespace &&
            !p.metadata?.deletionTimestamp &&
            isPodReady(p) &&
            p.status?.podIp &&
            match.matches(p.metadata?.labels),
        )
        .map((p) => p.status!.podIp),
    );
    const ep = endpointsByKey.get(key(svc));
    const have = new Set((ep?.subsets ?? []).flatMap((s) => s.addresses.map((a) => a.ip)));
    const missing = [...want].filter((ip) => !have.has(ip));
    const extra = [...have].filter((ip) => !want.has(ip));
    if (missing.length || extra.length)
      problems.push(
        `endpoints ${key(svc)}: ${[missing.length ? `missing ${missing.join(", ")}` : "", extra.length ? `not Ready or gone ${extra.join(", ")}` : ""].filter(Boolean).join("; ")}`,
      );
  }
  return problems;
}
