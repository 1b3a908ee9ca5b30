import type { Node, Taint } from "@kubelab/api";

/** What the cloud says of a node's machine. */
export type InstanceState = "running" | "shutdown" | "missing" | "unknown";

/** Kubernetes' taint for a node whose machine is shut down (cloudproviderapi.TaintNodeShutdown). */
export const SHUTDOWN_TAINT: Taint = {
  $typeName: "kubelab.core.v1.Taint",
  key: "node.cloudprovider.kubernetes.io/shutdown",
  value: "",
  effect: "NoSchedule",
  timeAdded: "",
};

export type NodeLifecycleAction = "delete" | "taintShutdown" | "untaintShutdown" | "none";

const isReady = (n: Node) => n.status?.conditions.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const hasShutdownTaint = (n: Node) =>
  n.spec?.taints.some((t) => t.key === SHUTDOWN_TAINT.key && t.effect === SHUTDOWN_TAINT.effect) ?? false;

/**
 * The cloud node lifecycle controller's decision for one node (k8s.io/cloud-provider's
 * nodelifecycle controller): a Ready node loses the shutdown taint if it has it; a node that is not
 * Ready is tainted when its machine is shut down, and deleted when its machine no longer exists;
 * a machine the cloud cannot tell about is left alone.
 */
export function nodeLifecycleAction(node: Node, instance: InstanceState): NodeLifecycleAction {
  if (isReady(node)) return hasShutdownTaint(node) ? "untaintShutdown" : "none";
  if (instance === "missing") return "delete";
  if (instance === "shutdown") return hasShutdownTaint(node) ? "none" : "taintShutdown";
  if (instance === "running" && hasShutdownTaint(node)) return "untaintShutdown";
  return "none";
}
