import type { ScorePlugin } from "../framework/types.js";
import { MAX_NODE_SCORE } from "../framework/types.js";
import { termMatches } from "./nodeAffinity.js";

/**
 * NodeAffinity's score: a node scores the sum of the weights of the pod's
 * preferredDuringSchedulingIgnoredDuringExecution terms it matches, normalized so the best node
 * scores the maximum (kube-scheduler's DefaultNormalizeScore); weight 2, as in the default profile.
 */
export const preferredNodeAffinity: ScorePlugin = {
  name: "NodeAffinityPreferred",
  weight: 2,
  preScore(state, pod, nodes) {
    const terms = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const sums = new Map<string, number>();
    if (terms.length) {
      for (const n of nodes) {
        sums.set(
          n.node.metadata!.name,
          terms.reduce((sum, t) => sum + (t.preference && termMatches(n.node, t.preference) ? t.weight : 0), 0),
        );
      }
    }
    state.write(this.name, sums);
  },
  score(state, _pod, info) {
    const sums = state.read<Map<string, number>>(this.name);
    const max = sums?.size ? Math.max(...sums.values()) : 0;
    if (max === 0) return 0;
    return Math.round(((sums!.get(info.node.metadata!.name) ?? 0) / max) * MAX_NODE_SCORE);
  },
};
