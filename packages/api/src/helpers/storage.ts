// Kubernetes' storage annotations, finalizers and the small helpers every storage component
// shares (k8s.io/component-helpers/storage/volume and pkg/controller/volume/persistentvolume/util).
import { create } from "@bufbuild/protobuf";
import { ObjectReferenceSchema, type ObjectReference } from "../gen/kubelab/core/v1/event_pb.js";
import type { PersistentVolume, PersistentVolumeClaim } from "../gen/kubelab/core/v1/persistentvolume_pb.js";
import type { StorageClass } from "../gen/kubelab/storage/v1/storageclass_pb.js";

/** The annotation that makes a StorageClass the default for claims that name none. */
export const ANN_IS_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
/** The beta form, still honoured by Kubernetes' DefaultStorageClass admission. */
export const ANN_BETA_IS_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class";
/** On a claim: the PV controller has finished binding it (or the volume). */
export const ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
/** On a claim or a volume: the PV controller, not the user, bound it. */
export const ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller";
/** On a volume: which provisioner created it (and so which one deletes it). */
export const ANN_DYNAMICALLY_PROVISIONED = "pv.kubernetes.io/provisioned-by";
/** On a claim: the provisioner asked to provision it. */
export const ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
export const ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner";
/** On a claim: the node the scheduler chose for its first consumer (WaitForFirstConsumer). */
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** The class annotation older claims and volumes carry instead of spec.storageClassName. */
export const ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class";

export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";
export const PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection";

export const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export const VOLUME_BINDING_IMMEDIATE = "Immediate";
export const VOLUME_BINDING_WAIT = "WaitForFirstConsumer";
/** The provisioner name of classes whose volumes are only ever created by hand. */
export const NO_PROVISIONER = "kubernetes.io/no-provisioner";

/** A volume's spec.claimRef to a claim, as the PV controller, the scheduler and provisioners write it. */
export function claimRefOf(claim: PersistentVolumeClaim): ObjectReference {
  const m = claim.metadata!;
  return create(ObjectReferenceSchema, {
    kind: "PersistentVolumeClaim",
    apiVersion: "v1",
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  });
}

/** Whether a class is annotated as the default one (either annotation, "true"). */
export function isDefaultStorageClass(sc: StorageClass): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[ANN_IS_DEFAULT_CLASS] === "true" || a[ANN_BETA_IS_DEFAULT_CLASS] === "true";
}

/** A claim's class: the beta annotation wins, then spec.storageClassName; "" for none. */
export function claimClass(pvc: PersistentVolumeClaim): string {
  return pvc.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? pvc.spec?.storageClassName ?? "";
}

/** A volume's class, the same way. */
export function volumeClass(pv: PersistentVolume): string {
  return pv.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? pv.spec?.storageClassName ?? "";
}

/** The class's binding mode, Immediate when unset. */
export function volumeBindingMode(sc: StorageClass | undefined): string {
  return sc?.volumeBindingMode || VOLUME_BINDING_IMMEDIATE;
}

/** kubectl's access modes column: "RWO,ROX,RWX,RWOP", in that order, each once. */
export function accessModesShort(modes: readonly string[]): string {
  const short: Record<string, string> = { ReadWriteOnce: "RWO", ReadOnlyMany: "ROX", ReadWriteMany: "RWX", ReadWriteOncePod: "RWOP" };
  return ACCESS_MODES.filter((m) => modes.includes(m))
    .map((m) => short[m])
    .join(",");
}

/**
 * Where local PersistentVolumes live inside a node: a provisioner makes one directory per volume
 * below it (its spec.local.path), and the kubelet mounts that path as it mounts a hostPath. In
 * the lab it is a Docker volume per node (compose.yaml: storage-node-N), so a volume's data
 * outlives the node's container.
 */
export const LOCAL_STORAGE_DIR = "/var/lib/kubelab/storage";
