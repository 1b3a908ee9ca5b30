import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, toleratesTaint } from "@kubelab/api";
import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";

/**
 * A node whose Ready condition is not True. Kubernetes' node lifecycle controller turns that into
 * the not-ready or unreachable NoSchedule taint and TaintToleration filters on it; this filter
 * reads the condition itself, so a node that just stopped is avoided at once, and words it as
 * that taint would be worded.
 */
export const nodeReady: FilterPlugin = {
  name: "NodeReady",
  filter(_state, pod, { node }) {
    const ready = node.status?.conditions.find((c) => c.type === "Ready");
    if (ready?.status === "True") return fits;
    const key = ready?.status === "False" ? TAINT_NODE_NOT_READY : TAINT_NODE_UNREACHABLE;
    const taint = { key, value: "", effect: "NoSchedule" };
    if (pod.spec?.tolerations.some((t) => toleratesTaint(t, taint))) return fits;
    return unfit(`node(s) had untolerated taint {${key}: }`);
  },
};
