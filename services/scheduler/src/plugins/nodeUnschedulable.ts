import { TAINT_NODE_UNSCHEDULABLE, toleratesTaint } from "@kubelab/api";
import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";

const UNSCHEDULABLE_TAINT = { key: TAINT_NODE_UNSCHEDULABLE, effect: "NoSchedule", value: "" };

/** A cordoned node (spec.unschedulable) takes only pods that tolerate the unschedulable taint. */
export const nodeUnschedulable: FilterPlugin = {
  name: "NodeUnschedulable",
  filter(_state, pod, { node }) {
    if (!node.spec?.unschedulable) return fits;
    if (pod.spec?.tolerations.some((t) => toleratesTaint(t, UNSCHEDULABLE_TAINT))) return fits;
    return unfit("node(s) were unschedulable");
  },
};
