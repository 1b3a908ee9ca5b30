import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";

/** Requests of the node's pods plus this pod's must fit in allocatable cpu, memory and pod slots. */
export const nodeResourcesFit: FilterPlugin = {
  name: "NodeResourcesFit",
  filter(state, _pod, info) {
    const want = state.podRequests;
    const reasons: string[] = [];
    if (info.requested.pods + 1 > info.allocatable.pods) reasons.push("Too many pods");
    if (want.milliCpu > 0 && info.requested.milliCpu + want.milliCpu > info.allocatable.milliCpu) reasons.push("Insufficient cpu");
    if (want.memory > 0 && info.requested.memory + want.memory > info.allocatable.memory) reasons.push("Insufficient memory");
    return reasons.length ? unfit(...reasons) : fits;
  },
};
