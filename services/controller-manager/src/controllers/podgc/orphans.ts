import type { Pod } from "@kubelab/api";

/**
 * The pods Kubernetes' pod garbage collector removes each period (pkg/controller/podgc): pods
 * bound to a node that has been gone for the quarantine (its Node deleted: the machine is lost
 * and no kubelet will ever finish them), and pods being deleted that were never scheduled (no
 * kubelet to finish those either). `nodeGoneSinceMs` holds when each missing node was first
 * seen missing, and is updated here.
 */
export function podsToCollect(
  pods: readonly Pod[],
  nodeExists: (name: string) => boolean,
  nodeGoneSinceMs: Map<string, number>,
  nowMs: number,
  quarantineMs: number,
): { orphaned: Pod[]; unscheduledTerminating: Pod[] } {
  const orphaned: Pod[] = [];
  const unscheduledTerminating: Pod[] = [];
  const missing = new Set<string>();
  for (const p of pods) {
    const node = p.spec?.nodeName ?? "";
    if (!node) {
      if (p.metadata?.deletionTimestamp) unscheduledTerminating.push(p);
      continue;
    }
    if (nodeExists(node)) continue;
    missing.add(node);
    const since = nodeGoneSinceMs.get(node) ?? nowMs;
    nodeGoneSinceMs.set(node, since);
    if (nowMs - since >= quarantineMs) orphaned.push(p);
  }
  // A node that came back (or whose pods are gone) starts a new quarantine next time.
  for (const node of [...nodeGoneSinceMs.keys()]) if (!missing.has(node)) nodeGoneSinceMs.delete(node);
  return { orphaned, unscheduledTerminating };
}
