import { create } from "@bufbuild/protobuf";
import {
  ANN_BETA_STORAGE_CLASS,
  isDefaultStorageClass,
  PV_PROTECTION_FINALIZER,
  PVC_PROTECTION_FINALIZER,
  TAINT_NODE_NOT_READY,
  TAINT_NODE_UNREACHABLE,
  TolerationSchema,
  type KubeObject,
  type PersistentVolumeClaim,
  type Pod,
  type StorageClass,
} from "@kubelab/api";

export interface AdmissionOptions {
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

/** What admission reads of the cluster: the StorageClasses, for DefaultStorageClass. */
export interface AdmissionLookups {
  storageClasses(): StorageClass[];
}

/** The admission plugins a create passes through, in Kubernetes' order. */
export function admitOnCreate(obj: KubeObject, opts: AdmissionOptions, lookups: AdmissionLookups): void {
  switch (obj.$typeName) {
    case "kubelab.core.v1.Pod":
      return defaultTolerationSeconds(obj as Pod, opts);
    case "kubelab.core.v1.PersistentVolumeClaim":
      defaultStorageClass(obj as PersistentVolumeClaim, lookups.storageClasses());
      return addFinalizer(obj, PVC_PROTECTION_FINALIZER);
    case "kubelab.core.v1.PersistentVolume":
      return addFinalizer(obj, PV_PROTECTION_FINALIZER);
  }
}

/**
 * Kubernetes' DefaultStorageClass admission plugin: a claim that names no class (a nil
 * storageClassName, not "") gets the default one, the class annotated
 * storageclass.kubernetes.io/is-default-class=true; of several, the newest (then by name), as
 * since Kubernetes 1.26. With no default class the claim keeps no class.
 */
export function defaultStorageClass(pvc: PersistentVolumeClaim, classes: StorageClass[]): void {
  if (!pvc.spec || pvc.spec.storageClassName !== undefined) return;
  if (pvc.metadata?.annotations[ANN_BETA_STORAGE_CLASS] !== undefined) return;
  const defaults = classes
    .filter(isDefaultStorageClass)
    .sort(
      (a, b) =>
        (b.metadata?.creationTimestamp ?? "").localeCompare(a.metadata?.creationTimestamp ?? "") ||
        (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
  if (defaults[0]) pvc.spec.storageClassName = defaults[0].metadata!.name;
}

/**
 * Kubernetes' StorageObjectInUseProtection admission plugin: every new claim and volume carries
 * its protection finalizer, which the pvc-protection and pv-protection controllers remove once
 * nothing uses it.
 */
function addFinalizer(obj: KubeObject, finalizer: string): void {
  const m = obj.metadata!;
  if (!m.finalizers.includes(finalizer)) m.finalizers.push(finalizer);
}

/**
 * Kubernetes' DefaultTolerationSeconds admission plugin: every pod tolerates a not-ready or
 * unreachable node for a while (300 s by default) before the node lifecycle controller evicts it.
 */
function defaultTolerationSeconds(pod: Pod, opts: AdmissionOptions): void {
  if (!pod.spec) return;
  for (const [key, seconds] of [
    [TAINT_NODE_NOT_READY, opts.defaultNotReadyTolerationSeconds],
    [TAINT_NODE_UNREACHABLE, opts.defaultUnreachableTolerationSeconds],
  ] as const) {
    const has = pod.spec.tolerations.some(
      (t) => (t.key === key || (t.key === "" && t.operator === "Exists")) && (t.effect === "NoExecute" || t.effect === ""),
    );
    if (!has) {
      pod.spec.tolerations.push(create(TolerationSchema, { key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds }));
    }
  }
}
