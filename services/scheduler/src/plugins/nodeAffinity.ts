import { termMatches } from "@kubelab/api";
import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";

export { termMatches };

/** nodeSelector (every label equal) and requiredDuringScheduling node affinity (any term matches). */
export const nodeAffinity: FilterPlugin = {
  name: "NodeAffinity",
  filter(_state, pod, { node }) {
    const labels = node.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
      if (labels[k] !== v) return unfit("node(s) didn't match Pod's node affinity/selector");
    }
    const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    if (terms && !terms.some((t) => termMatches(node, t))) return unfit("node(s) didn't match Pod's node affinity/selector");
    return fits;
  },
};
