import type { Pod } from "@kubelab/api";

export const isTerminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** Kubernetes' IsPodActive: not finished and not being deleted; only these count as replicas. */
export const isActive = (p: Pod) => !isTerminal(p) && !p.metadata?.deletionTimestamp;

export function readySince(p: Pod): number | undefined {
  const c = p.status?.conditions.find((x) => x.type === "Ready");
  if (c?.status !== "True") return undefined;
  return Date.parse(c.lastTransitionTime) || Date.now();
}

export const isReady = (p: Pod) => readySince(p) !== undefined;

/** Ready for at least minReadySeconds (Kubernetes' IsPodAvailable). */
export function isAvailable(p: Pod, minReadySeconds: number, now = Date.now()): boolean {
  const since = readySince(p);
  if (since === undefined) return false;
  return minReadySeconds === 0 || since + minReadySeconds * 1000 <= now;
}

/** When a ready pod becomes available, if it is not yet: for a requeue. */
export function msUntilAvailable(p: Pod, minReadySeconds: number, now = Date.now()): number | undefined {
  const since = readySince(p);
  if (since === undefined || minReadySeconds === 0) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}
