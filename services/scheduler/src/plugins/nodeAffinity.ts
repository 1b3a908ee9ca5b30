import type { Node, NodeSelectorRequirement, NodeSelectorTerm } from "@kubelab/api";
import type { FilterPlugin } from "../framework/types.js";
import { fits, unfit } from "../framework/types.js";

function matchesRequirement(node: Node, r: NodeSelectorRequirement): boolean {
  const labels = node.metadata?.labels ?? {};
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case "In":
      return has && r.values.includes(v!);
    case "NotIn":
      return !has || !r.values.includes(v!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
      return has && Number(v) > Number(r.values[0]);
    case "Lt":
      return has && Number(v) < Number(r.values[0]);
  }
  return false;
}

function matchesField(node: Node, r: NodeSelectorRequirement): boolean {
  if (r.key !== "metadata.name") return false;
  const name = node.metadata?.name ?? "";
  return r.operator === "In" ? r.values.includes(name) : r.operator === "NotIn" ? !r.values.includes(name) : false;
}

/** A term matches when all its expressions and fields match; an empty term matches nothing. */
export function termMatches(node: Node, term: NodeSelectorTerm): boolean {
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  return term.matchExpressions.every((r) => matchesRequirement(node, r)) && term.matchFields.every((r) => matchesField(node, r));
}

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
