import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";
import { tolerates } from "./tolerations.js";

const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule", value: "" };

/** A cordoned node (spec.unschedulable) takes only pods that tolerate the unschedulable taint. */
export const nodeUnschedulable: FilterPlugin = {
  name: "NodeUnschedulable",
  filter(_state, pod, { node }) {
    if (!node.spec?.unschedulable) return fits;
    if (pod.spec?.tolerations.some((t) => tolerates(t, UNSCHEDULABLE_TAINT))) return fits;
    return unfit("node(s) were unschedulable");
  },
};
