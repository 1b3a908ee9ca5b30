import type { Toleration } from "../gen/kubelab/core/v1/pod_pb.js";

// The well-known taints (k8s.io/api/core/v1 well_known_taints.go) and the toleration rule, kept
// beside the types as k8s.io/api keeps them, for the node lifecycle controller, the scheduler
// and the API server's admission alike.

/** A node whose Ready condition is False. */
export const TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready";
/** A node whose Ready condition is Unknown: the node lifecycle controller stopped hearing from it. */
export const TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable";
/** A cordoned node (spec.unschedulable). */
export const TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";

export interface TaintLike {
  key: string;
  value: string;
  effect: string;
}

/**
 * Kubernetes' Toleration.ToleratesTaint: an effect, when given, must match; a key, when given,
 * must match; then operator Exists tolerates any value, Equal (or empty) needs the same value,
 * and any other operator tolerates nothing.
 */
export function toleratesTaint(t: Toleration, taint: TaintLike): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator) {
    case "":
    case "Equal":
      return (t.value ?? "") === taint.value;
    case "Exists":
      return true;
    default:
      return false;
  }
}
