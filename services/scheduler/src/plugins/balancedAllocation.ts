import type { ScorePlugin } from "../framework/types.js";
import { MAX_NODE_SCORE } from "../framework/types.js";
import { fractionsAfter } from "./nonZeroRequests.js";

/** NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory use stay even (1 - std dev). */
export const balancedAllocation: ScorePlugin = {
  name: "NodeResourcesBalancedAllocation",
  weight: 1,
  score(state, _pod, info) {
    const f = fractionsAfter(info.requested, info.allocatable, state.podRequests);
    const std = Math.abs(f.cpu - f.memory) / 2;
    return Math.round((1 - std) * MAX_NODE_SCORE);
  },
};
