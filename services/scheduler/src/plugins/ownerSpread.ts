import type { Pod } from "@kubelab/api";
import type { ScorePlugin } from "../framework/types.js";
import { MAX_NODE_SCORE } from "../framework/types.js";

export function controllerUid(pod: Pod): string | undefined {
  return pod.metadata?.ownerReferences.find((o) => o.controller)?.uid;
}

/**
 * Spreads pods of one owner (a ReplicaSet, a Job) across nodes, as the default topology spreading
 * does: the fewer of its siblings a node has, the higher it scores.
 */
export const ownerSpread: ScorePlugin = {
  name: "OwnerSpread",
  weight: 2,
  preScore(state, pod, nodes) {
    const owner = controllerUid(pod);
    const counts = new Map<string, number>();
    if (owner) {
      for (const n of nodes) {
        counts.set(n.node.metadata!.name, n.pods.filter((p) => controllerUid(p) === owner && p.metadata!.uid !== pod.metadata!.uid).length);
      }
    }
    state.write(this.name, counts);
  },
  score(state, _pod, info) {
    // Pods per node with the same controller as the pod being scheduled.
    const counts = state.read<Map<string, number>>(this.name);
    if (!counts || counts.size === 0) return MAX_NODE_SCORE;
    const max = Math.max(...counts.values());
    if (max === 0) return MAX_NODE_SCORE;
    return Math.round(((max - (counts.get(info.node.metadata!.name) ?? 0)) / max) * MAX_NODE_SCORE);
  },
};
