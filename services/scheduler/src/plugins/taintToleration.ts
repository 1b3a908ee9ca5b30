import { toleratesTaint } from "@kubelab/api";
import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";

/** NoSchedule and NoExecute taints the pod does not tolerate keep it off the node. */
export const taintToleration: FilterPlugin = {
  name: "TaintToleration",
  filter(_state, pod, { node }) {
    const tolerations = pod.spec?.tolerations ?? [];
    for (const taint of node.spec?.taints ?? []) {
      if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
      if (tolerations.some((t) => toleratesTaint(t, taint))) continue;
      return unfit(`node(s) had untolerated taint {${taint.key}: ${taint.value}}`);
    }
    return fits;
  },
};
