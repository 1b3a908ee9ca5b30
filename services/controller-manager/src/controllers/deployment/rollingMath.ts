import { intOrPercent, type Deployment, type ReplicaSet } from "@kubelab/api";

// The arithmetic of a rolling update, as Kubernetes' deployment util computes it.

export const replicasOf = (rs: ReplicaSet) => rs.spec?.replicas ?? 0;
export const sumSpec = (list: ReplicaSet[]) => list.reduce((n, rs) => n + replicasOf(rs), 0);
export const sumAvailable = (list: ReplicaSet[]) => list.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);

/** maxSurge rounds up, maxUnavailable down; both zero is not allowed, so unavailable becomes 1. */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const maxSurge = intOrPercent(ru?.maxSurge, replicas, true);
  let maxUnavailable = intOrPercent(ru?.maxUnavailable, replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

/** The new ReplicaSet's next size: up to replicas + maxSurge pods in all. */
export function newReplicaSetReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  const replicas = d.spec?.replicas ?? 1;
  const { maxSurge } = resolveFenceposts(d);
  const current = sumSpec(all);
  const maxTotal = replicas + maxSurge;
  if (current >= maxTotal) return replicasOf(newRS);
  return replicasOf(newRS) + Math.max(0, Math.min(maxTotal - current, replicas - replicasOf(newRS)));
}

/**
 * How far the old ReplicaSets may shrink now: never below replicas - maxUnavailable available
 * pods, counting the new ReplicaSet's not-yet-available pods as unavailable.
 */
export function maxScaleDown(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined): number {
  const replicas = d.spec?.replicas ?? 1;
  const { maxUnavailable } = resolveFenceposts(d);
  const minAvailable = replicas - maxUnavailable;
  const newUnavailable = newRS ? replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0) : 0;
  return sumSpec(all) - minAvailable - Math.max(0, newUnavailable);
}

/** Available pods beyond the minimum: what scaling down healthy old pods may take. */
export function availableAboveMinimum(d: Deployment, all: ReplicaSet[]): number {
  const replicas = d.spec?.replicas ?? 1;
  const { maxUnavailable } = resolveFenceposts(d);
  return sumAvailable(all) - (replicas - maxUnavailable);
}
