// The default profile. Filters run in this order and a node's first failing filter is its reason,
// as in kube-scheduler; adding a rule is adding a file and a line here.
import type { FilterPlugin, ScorePlugin } from "../framework/types.js";
import { nodeUnschedulable } from "./nodeUnschedulable.js";
import { nodeReady } from "./nodeReady.js";
import { taintToleration } from "./taintToleration.js";
import { nodeAffinity } from "./nodeAffinity.js";
import { nodeResourcesFit } from "./nodeResourcesFit.js";
import { leastAllocated } from "./leastAllocated.js";
import { balancedAllocation } from "./balancedAllocation.js";
import { ownerSpread } from "./ownerSpread.js";
import { preferredNodeAffinity } from "./preferredNodeAffinity.js";

export const defaultFilters: FilterPlugin[] = [nodeUnschedulable, nodeReady, taintToleration, nodeAffinity, nodeResourcesFit];
export const defaultScores: ScorePlugin[] = [leastAllocated, balancedAllocation, ownerSpread, preferredNodeAffinity];
