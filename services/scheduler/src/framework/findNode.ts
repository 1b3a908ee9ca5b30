import type { Pod } from "@kubelab/api";
import { podRequests } from "./resources.js";
import { CycleState, type FilterPlugin, type NodeInfo, type ScorePlugin } from "./types.js";

export type Placement = { node: string } | { node: undefined; message: string };

/**
 * Kubernetes' FitError message: `0/3 nodes are available: 2 Insufficient memory, 1 node(s) had
 * untolerated taint {dedicated: gpu}.` Each node adds its first failing filter's reasons;
 * reasons are listed most frequent first.
 */
export function fitErrorMessage(total: number, reasons: Map<string, number>): string {
  const parts = [...reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, n]) => `${n} ${r}`);
  return `0/${total} nodes are available: ${parts.join(", ")}.`;
}

/** One scheduling cycle's decision: filter every node, score the ones that fit, pick the best. */
export function findNode(pod: Pod, nodes: NodeInfo[], filters: FilterPlugin[], scores: ScorePlugin[], random = Math.random): Placement {
  const state = new CycleState(podRequests(pod));
  for (const f of filters) {
    const r = f.preFilter?.(state, pod);
    // As kube-scheduler: a PreFilter's rejection holds for every node, and is the whole message.
    if (r && !r.ok) return { node: undefined, message: `0/${nodes.length} nodes are available: ${r.reasons.join(", ")}.` };
  }
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, number>();
  for (const n of nodes) {
    let ok = true;
    for (const f of filters) {
      const r = f.filter(state, pod, n);
      if (!r.ok) {
        for (const reason of r.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        ok = false;
        break;
      }
    }
    if (ok) feasible.push(n);
  }
  if (feasible.length === 0) {
    if (nodes.length === 0) return { node: undefined, message: "0/0 nodes are available: no nodes available to schedule pods." };
    return { node: undefined, message: fitErrorMessage(nodes.length, reasons) };
  }
  if (feasible.length === 1) return { node: feasible[0]!.node.metadata!.name };
  for (const s of scores) s.preScore?.(state, pod, feasible);
  let best: NodeInfo[] = [];
  let bestScore = -Infinity;
  for (const n of feasible) {
    let total = 0;
    for (const s of scores) total += s.weight * s.score(state, pod, n);
    if (total > bestScore) {
      bestScore = total;
      best = [n];
    } else if (total === bestScore) {
      best.push(n);
    }
  }
  // Ties are broken at random, as kube-scheduler's selectHost does.
  return { node: best[Math.floor(random() * best.length)]!.node.metadata!.name };
}
