import type { Node } from "../gen/kubelab/core/v1/node_pb.js";
import type { NodeSelectorRequirement, NodeSelectorTerm } from "../gen/kubelab/core/v1/pod_pb.js";

// Kubernetes' node selector terms (component-helpers/scheduling/corev1/nodeaffinity), shared by the
// scheduler's NodeAffinity and VolumeBinding and the kubelet's check of a PersistentVolume's node.

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
