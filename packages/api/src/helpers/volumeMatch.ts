// How a claim finds its volume, after Kubernetes' pkg/controller/volume/persistentvolume/util
// (FindMatchingVolume, CheckVolumeModeMismatches, CheckAccessModes): the PV controller binds with
// it, and the scheduler's VolumeBinding plugin asks it which volume a pod's claim would get on a node.
import type { PersistentVolume, PersistentVolumeClaim } from "../gen/kubelab/core/v1/persistentvolume_pb.js";
import { parseQuantity } from "../quantity.js";
import { LabelSelector } from "../selectors/labelSelector.js";
import { claimClass, volumeClass } from "./storage.js";

const quantityOf = (q: string | undefined): number => {
  if (!q) return 0;
  try {
    return parseQuantity(q);
  } catch {
    return 0;
  }
};

/** A claim's requested size in bytes. */
export const claimRequestBytes = (pvc: PersistentVolumeClaim) => quantityOf(pvc.spec?.resources?.requests.storage);
/** A volume's capacity in bytes. */
export const volumeCapacityBytes = (pv: PersistentVolume) => quantityOf(pv.spec?.capacity.storage);

/** Whether the volume's claimRef names this claim: same namespace and name, and its UID if the ref has one. */
export function isVolumeBoundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  const m = pvc.metadata!;
  if (!ref || ref.name !== m.name || ref.namespace !== m.namespace) return false;
  return !ref.uid || ref.uid === m.uid;
}

/**
 * Why the volume cannot serve the claim, in the PV controller's words (checkVolumeSatisfyClaim),
 * or undefined when it can.
 */
export function volumeMismatch(pv: PersistentVolume, pvc: PersistentVolumeClaim): string | undefined {
  if (volumeCapacityBytes(pv) < claimRequestBytes(pvc)) return "requested PV is too small";
  if (volumeClass(pv) !== claimClass(pvc)) return "storageClassName does not match";
  if ((pv.spec?.volumeMode || "Filesystem") !== (pvc.spec?.volumeMode || "Filesystem")) return "incompatible volumeMode";
  const modes = pv.spec?.accessModes ?? [];
  if (!(pvc.spec?.accessModes ?? []).every((m) => modes.includes(m))) return "incompatible accessMode";
  return undefined;
}

export interface MatchOptions {
  /**
   * The scheduler's question: may this volume serve a pod on the node it considers (its node
   * affinity)? Without it (the PV controller), node affinity is not checked.
   */
  nodeFits?: (pv: PersistentVolume) => boolean;
  /**
   * WaitForFirstConsumer without a chosen node: only a volume pre-bound to the claim may be
   * taken; the others wait for the scheduler.
   */
  delayBinding?: boolean;
  /** Volumes already promised to other claims in the same decision. */
  excluded?: ReadonlySet<string>;
}

/**
 * Kubernetes' FindMatchingVolume: a volume pre-bound to the claim wins; otherwise the smallest
 * Available volume of the claim's class, with the claim's access modes (fewest extra modes
 * first, as the PV controller's index groups them), its volume mode and at least its size,
 * that its selector matches and that is bound to no other claim.
 */
export function findMatchingVolume(
  pvc: PersistentVolumeClaim,
  volumes: readonly PersistentVolume[],
  opts: MatchOptions = {},
): PersistentVolume | undefined {
  const requested = claimRequestBytes(pvc);
  const cls = claimClass(pvc);
  const wanted = pvc.spec?.accessModes ?? [];
  const selector = pvc.spec?.selector ? LabelSelector.fromMessage(pvc.spec.selector) : undefined;
  const mode = pvc.spec?.volumeMode || "Filesystem";
  let best: PersistentVolume | undefined;
  const better = (a: PersistentVolume, b: PersistentVolume) => {
    const modesA = a.spec?.accessModes.length ?? 0;
    const modesB = b.spec?.accessModes.length ?? 0;
    if (modesA !== modesB) return modesA < modesB;
    const sizeA = volumeCapacityBytes(a);
    const sizeB = volumeCapacityBytes(b);
    return sizeA !== sizeB ? sizeA < sizeB : (a.metadata?.name ?? "") < (b.metadata?.name ?? "");
  };
  for (const pv of volumes) {
    if (opts.excluded?.has(pv.metadata!.name)) continue;
    if ((pv.spec?.volumeMode || "Filesystem") !== mode) continue;
    if (pv.metadata?.deletionTimestamp) continue;
    if (isVolumeBoundToClaim(pv, pvc)) {
      if (opts.nodeFits && !opts.nodeFits(pv)) return undefined;
      return pv;
    }
    if (opts.delayBinding) continue;
    if (pv.spec?.claimRef) continue;
    if (pv.status?.phase && pv.status.phase !== "Available" && pv.status.phase !== "Pending") continue;
    if (volumeClass(pv) !== cls) continue;
    if (selector && !selector.matches(pv.metadata?.labels)) continue;
    if (!wanted.every((m) => pv.spec?.accessModes.includes(m))) continue;
    if (volumeCapacityBytes(pv) < requested) continue;
    if (opts.nodeFits && !opts.nodeFits(pv)) continue;
    if (!best || better(pv, best)) best = pv;
  }
  return best;
}
