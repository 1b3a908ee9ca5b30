import type { ScorePlugin } from "../framework/types.js";
import { MAX_NODE_SCORE } from "../framework/types.js";
import { fractionsAfter } from "./nonZeroRequests.js";

/** NodeResourcesFit's LeastAllocated strategy: prefer the node with the most room left. */
export const leastAllocated: ScorePlugin = {
  name: "NodeResourcesLeastAllocated",
  weight: 1,
  score(state, _pod, info) {
    const f = fractionsAfter(info.requested, info.allocatable, state.podRequests);
    return Math.round(((1 - f.cpu + (1 - f.memory)) / 2) * MAX_NODE_SCORE);
  },
};
