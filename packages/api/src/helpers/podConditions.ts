import type { Pod, PodCondition } from "../gen/kubelab/core/v1/pod_pb.js";

// Pod state as Kubernetes' pod utilities read it (k8s.io/kubectl and the controllers' podutil),
// for the controllers, the scheduler, the endpoints controller and the kubelet alike.

/** A pod's condition of `type`, if it has one. */
export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions.find((c) => c.type === type);
}

/** Kubernetes' IsPodReady: its Ready condition is True. */
export const isPodReady = (pod: Pod): boolean => podCondition(pod, "Ready")?.status === "True";

/** Finished for good: phase Succeeded or Failed. */
export const isPodTerminal = (pod: Pod): boolean => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

/** Kubernetes' IsPodActive: not finished and not being deleted; only these count as replicas. */
export const isPodActive = (pod: Pod): boolean => !isPodTerminal(pod) && !pod.metadata?.deletionTimestamp;

/** Since when (ms) a pod has been Ready, if it is. */
export function podReadySinceMs(pod: Pod): number | undefined {
  const c = podCondition(pod, "Ready");
  if (c?.status !== "True") return undefined;
  return Date.parse(c.lastTransitionTime) || Date.now();
}

/** Kubernetes' IsPodAvailable: Ready for at least minReadySeconds. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs = Date.now()): boolean {
  const since = podReadySinceMs(pod);
  if (since === undefined) return false;
  return minReadySeconds === 0 || since + minReadySeconds * 1000 <= nowMs;
}

/** How long until a Ready pod becomes available, if it is not yet (for a requeue). */
export function msUntilPodAvailable(pod: Pod, minReadySeconds: number, nowMs = Date.now()): number | undefined {
  const since = podReadySinceMs(pod);
  if (since === undefined || minReadySeconds === 0) return undefined;
  const left = since + minReadySeconds * 1000 - nowMs;
  return left > 0 ? left : undefined;
}
