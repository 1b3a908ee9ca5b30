// PersistentVolume, PersistentVolumeClaim (core/v1) and StorageClass (storage.k8s.io/v1), with
// Kubernetes' defaults and validation (pkg/apis/core/validation, pkg/apis/storage/validation).
import { clone, create, equals } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeClaimSpecSchema,
  PersistentVolumeClaimStatusSchema,
  PersistentVolumeSchema,
  PersistentVolumeStatusSchema,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type PersistentVolumeSpec,
} from "../gen/kubelab/core/v1/persistentvolume_pb.js";
import type { NodeSelector } from "../gen/kubelab/core/v1/pod_pb.js";
import { StorageClassSchema, type StorageClass } from "../gen/kubelab/storage/v1/storageclass_pb.js";
import type { LabelSelector as LabelSelectorMessage } from "../gen/kubelab/meta/v1/meta_pb.js";
import { formatTime } from "../helpers/time.js";
import { ACCESS_MODES, accessModesShort, claimClass, isDefaultStorageClass, volumeClass } from "../helpers/storage.js";
import { parseQuantity, QuantityError } from "../quantity.js";
import { registerKind } from "../registry.js";
import { LabelSelector, SelectorParseError } from "../selectors/labelSelector.js";
import { type FieldError, forbidden, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { qualifiedNameErrors } from "../validation/labels.js";
import { dns1123SubdomainErrors } from "../validation/names.js";
import { age } from "./print.js";

const RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"] as const;
const CLASS_RECLAIM_POLICIES = ["Delete", "Retain"] as const;
const VOLUME_MODES = ["Block", "Filesystem"] as const;
const BINDING_MODES = ["Immediate", "WaitForFirstConsumer"] as const;
const HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"] as const;
const NODE_SELECTOR_OPERATORS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"] as const;

function validateAccessModes(field: string, modes: readonly string[], requiredDetail: string): FieldError[] {
  if (modes.length === 0) return [required(field, requiredDetail)];
  const errs: FieldError[] = [];
  for (const m of modes) if (!(ACCESS_MODES as readonly string[]).includes(m)) errs.push(notSupported(field, m, [...ACCESS_MODES].sort()));
  if (modes.includes("ReadWriteOncePod") && modes.length > 1)
    errs.push(forbidden(field, "may not use ReadWriteOncePod with other access modes"));
  return errs;
}

function validateQuantity(field: string, q: string, positive: boolean): FieldError[] {
  try {
    const v = parseQuantity(q);
    if (positive && v <= 0) return [invalid(field, q, "must be greater than zero")];
    if (v < 0) return [invalid(field, q, "must be greater than or equal to 0")];
    return [];
  } catch (e) {
    if (!(e instanceof QuantityError)) throw e;
    return [invalid(field, q, e.message)];
  }
}

function validateClassName(field: string, name: string | undefined): FieldError[] {
  if (!name) return [];
  return dns1123SubdomainErrors(name).map((m) => invalid(field, name, m));
}

/** Kubernetes' validatePathNoBacksteps. */
function validatePath(field: string, path: string): FieldError[] {
  if (!path) return [required(field)];
  return path.split("/").includes("..") ? [invalid(field, path, "must not contain '..'")] : [];
}

function validateNodeSelector(field: string, sel: NodeSelector | undefined): FieldError[] {
  if (!sel) return [required(field, "must specify required node constraints")];
  if (sel.nodeSelectorTerms.length === 0) return [required(`${field}.nodeSelectorTerms`, "must have at least one node selector term")];
  const errs: FieldError[] = [];
  sel.nodeSelectorTerms.forEach((t, i) =>
    t.matchExpressions.forEach((r, j) => {
      const p = `${field}.nodeSelectorTerms[${i}].matchExpressions[${j}]`;
      if (!(NODE_SELECTOR_OPERATORS as readonly string[]).includes(r.operator))
        errs.push(notSupported(`${p}.operator`, r.operator, NODE_SELECTOR_OPERATORS));
      if ((r.operator === "In" || r.operator === "NotIn") && r.values.length === 0)
        errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      if ((r.operator === "Exists" || r.operator === "DoesNotExist") && r.values.length > 0)
        errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      errs.push(...qualifiedNameErrors(r.key).map((m) => invalid(`${p}.key`, r.key, m)));
    }),
  );
  return errs;
}

function validateSelector(field: string, sel: LabelSelectorMessage | undefined): FieldError[] {
  if (!sel) return [];
  try {
    LabelSelector.fromMessage(sel);
    return [];
  } catch (e) {
    if (!(e instanceof SelectorParseError)) throw e;
    return [invalid(`${field}.matchExpressions`, "", e.message)];
  }
}

/** Kubernetes' ValidatePersistentVolumeSpec, for the sources the lab has (local, hostPath). */
export function validatePersistentVolume(pv: PersistentVolume): FieldError[] {
  const s = pv.spec;
  if (!s) return [required("spec")];
  const errs = validateAccessModes("spec.accessModes", s.accessModes, "");
  const capacity = Object.entries(s.capacity);
  if (capacity.length === 0) errs.push(required("spec.capacity"));
  else if (!("storage" in s.capacity) || capacity.length > 1) errs.push(notSupported("spec.capacity", s.capacity, ["storage"]));
  for (const [k, q] of capacity) errs.push(...validateQuantity(`spec.capacity[${k}]`, q, false));
  const policy = s.persistentVolumeReclaimPolicy;
  if (policy && !(RECLAIM_POLICIES as readonly string[]).includes(policy))
    errs.push(notSupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES));
  errs.push(...validateClassName("spec.storageClassName", s.storageClassName));
  if (s.volumeMode !== undefined && !(VOLUME_MODES as readonly string[]).includes(s.volumeMode))
    errs.push(notSupported("spec.volumeMode", s.volumeMode, VOLUME_MODES));
  const sources = [s.local, s.hostPath].filter(Boolean).length;
  if (sources === 0) errs.push(required("spec", "must specify a volume type (this lab serves local and hostPath volumes)"));
  if (sources > 1) errs.push(forbidden("spec.hostPath", "may not specify more than 1 volume type"));
  if (s.hostPath) {
    errs.push(...validatePath("spec.hostPath.path", s.hostPath.path));
    if (!(HOST_PATH_TYPES as readonly string[]).includes(s.hostPath.type))
      errs.push(notSupported("spec.hostPath.type", s.hostPath.type, HOST_PATH_TYPES));
    if (policy === "Recycle" && s.hostPath.path.replace(/\/+$/, "") === "")
      errs.push(forbidden("spec.persistentVolumeReclaimPolicy", "may not be 'recycle' for a hostPath mount of '/'"));
  }
  if (s.local) {
    errs.push(...validatePath("spec.local.path", s.local.path));
    if (!s.nodeAffinity) errs.push(required("spec.nodeAffinity", "Local volume requires node affinity"));
  }
  if (s.nodeAffinity) errs.push(...validateNodeSelector("spec.nodeAffinity.required", s.nodeAffinity.required));
  return errs;
}

const sourceOf = (s: PersistentVolumeSpec | undefined) => JSON.stringify({ local: s?.local, hostPath: s?.hostPath });

/** Kubernetes' ValidatePersistentVolumeUpdate: the source, the mode and a set node affinity or class stay. */
export function validatePersistentVolumeUpdate(pv: PersistentVolume, old: PersistentVolume): FieldError[] {
  const errs = validatePersistentVolume(pv);
  const s = pv.spec;
  const o = old.spec;
  if (sourceOf(s) !== sourceOf(o))
    errs.push(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
  if ((s?.volumeMode ?? "") !== (o?.volumeMode ?? "")) errs.push(invalid("spec.volumeMode", s?.volumeMode ?? "", "field is immutable"));
  if (o?.nodeAffinity && JSON.stringify(s?.nodeAffinity) !== JSON.stringify(o.nodeAffinity))
    errs.push(invalid("spec.nodeAffinity", "", "field is immutable"));
  if (o?.storageClassName && s?.storageClassName !== o.storageClassName)
    errs.push(invalid("spec.storageClassName", s?.storageClassName ?? "", "field is immutable"));
  return errs;
}

/** Kubernetes' ValidatePersistentVolumeClaimSpec. */
export function validatePersistentVolumeClaim(pvc: PersistentVolumeClaim): FieldError[] {
  const s = pvc.spec;
  if (!s) return [required("spec")];
  const errs = validateAccessModes("spec.accessModes", s.accessModes, "at least 1 access mode is required");
  errs.push(...validateSelector("spec.selector", s.selector));
  const storage = s.resources?.requests.storage;
  if (storage === undefined) errs.push(required("spec.resources[storage]"));
  else errs.push(...validateQuantity("spec.resources[storage]", storage, true));
  errs.push(...validateClassName("spec.storageClassName", s.storageClassName));
  if (s.volumeMode !== undefined && !(VOLUME_MODES as readonly string[]).includes(s.volumeMode))
    errs.push(notSupported("spec.volumeMode", s.volumeMode, VOLUME_MODES));
  return errs;
}

/**
 * Kubernetes' ValidatePersistentVolumeClaimUpdate: the spec is fixed once created, except
 * resources.requests of a bound claim (expansion), volumeName set by binding, and a class set
 * where there was none (the DefaultStorageClass retroactively).
 */
export function validatePersistentVolumeClaimUpdate(pvc: PersistentVolumeClaim, old: PersistentVolumeClaim): FieldError[] {
  const errs = validatePersistentVolumeClaim(pvc);
  if (!pvc.spec || !old.spec) return errs;
  const cmp = clone(PersistentVolumeClaimSpecSchema, pvc.spec);
  if (!old.spec.volumeName) cmp.volumeName = "";
  if (old.spec.storageClassName === undefined) cmp.storageClassName = undefined;
  const bound = old.status?.phase === "Bound";
  if (bound && cmp.resources && old.spec.resources) cmp.resources = old.spec.resources;
  if (!equals(PersistentVolumeClaimSpecSchema, cmp, old.spec))
    errs.push(
      forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"),
    );
  return errs;
}

function validateStorageClass(sc: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  if (!sc.provisioner) errs.push(required("provisioner"));
  else errs.push(...qualifiedNameErrors(sc.provisioner).map((m) => invalid("provisioner", sc.provisioner, m)));
  if (sc.reclaimPolicy !== undefined && !(CLASS_RECLAIM_POLICIES as readonly string[]).includes(sc.reclaimPolicy))
    errs.push(notSupported("reclaimPolicy", sc.reclaimPolicy, CLASS_RECLAIM_POLICIES));
  if (sc.volumeBindingMode === undefined) errs.push(required("volumeBindingMode"));
  else if (!(BINDING_MODES as readonly string[]).includes(sc.volumeBindingMode))
    errs.push(notSupported("volumeBindingMode", sc.volumeBindingMode, BINDING_MODES));
  return errs;
}

function validateStorageClassUpdate(sc: StorageClass, old: StorageClass): FieldError[] {
  const errs = validateStorageClass(sc);
  if (JSON.stringify(sc.parameters) !== JSON.stringify(old.parameters))
    errs.push(forbidden("parameters", "updates to parameters are forbidden."));
  if (sc.provisioner !== old.provisioner) errs.push(forbidden("provisioner", "updates to provisioner are forbidden."));
  if (sc.reclaimPolicy !== old.reclaimPolicy) errs.push(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
  if (sc.volumeBindingMode !== old.volumeBindingMode)
    errs.push(invalid("volumeBindingMode", sc.volumeBindingMode ?? "", "field is immutable"));
  return errs;
}

/** The STATUS column of volumes and claims: Terminating while being deleted, else the phase. */
const phaseOrTerminating = (o: PersistentVolume | PersistentVolumeClaim) =>
  o.metadata?.deletionTimestamp ? "Terminating" : (o.status?.phase ?? "");

registerKind<PersistentVolume>({
  kind: "PersistentVolume",
  apiVersion: "v1",
  resource: "persistentvolumes",
  singular: "persistentvolume",
  shortNames: ["pv"],
  namespaced: false,
  schema: PersistentVolumeSchema,
  nameRule: "subdomain",
  hasStatus: true,
  // Kubernetes' persistentVolumeStrategy.PrepareForCreate: a new volume starts Pending, now.
  prepareForCreate: (pv) => {
    pv.status = create(PersistentVolumeStatusSchema, { phase: "Pending", lastPhaseTransitionTime: formatTime() });
  },
  selectableFields: { "status.phase": (pv) => pv.status?.phase ?? "" },
  defaults: (pv) => {
    if (pv.spec) {
      pv.spec.persistentVolumeReclaimPolicy ||= "Retain";
      pv.spec.volumeMode ??= "Filesystem";
    }
    pv.status ??= create(PersistentVolumeStatusSchema);
    pv.status.phase ||= "Pending";
  },
  validate: validatePersistentVolume,
  validateUpdate: validatePersistentVolumeUpdate,
  columns: [
    { name: "CAPACITY", value: (pv) => pv.spec?.capacity.storage ?? "" },
    { name: "ACCESS MODES", value: (pv) => accessModesShort(pv.spec?.accessModes ?? []) },
    { name: "RECLAIM POLICY", value: (pv) => pv.spec?.persistentVolumeReclaimPolicy ?? "" },
    { name: "STATUS", value: phaseOrTerminating },
    { name: "CLAIM", value: (pv) => (pv.spec?.claimRef ? `${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name}` : "") },
    { name: "STORAGECLASS", value: (pv) => volumeClass(pv) },
    { name: "VOLUMEATTRIBUTESCLASS", value: () => "<unset>" },
    { name: "REASON", value: (pv) => pv.status?.reason ?? "" },
    { name: "AGE", value: (pv, now) => age(pv.metadata?.creationTimestamp, now) },
    { name: "VOLUMEMODE", value: (pv) => pv.spec?.volumeMode ?? "", wide: true },
  ],
});

registerKind<PersistentVolumeClaim>({
  kind: "PersistentVolumeClaim",
  apiVersion: "v1",
  resource: "persistentvolumeclaims",
  singular: "persistentvolumeclaim",
  shortNames: ["pvc"],
  namespaced: true,
  schema: PersistentVolumeClaimSchema,
  nameRule: "subdomain",
  hasStatus: true,
  prepareForCreate: (pvc) => {
    pvc.status = create(PersistentVolumeClaimStatusSchema, { phase: "Pending" });
  },
  defaults: (pvc) => {
    if (pvc.spec) pvc.spec.volumeMode ??= "Filesystem";
    pvc.status ??= create(PersistentVolumeClaimStatusSchema);
    pvc.status.phase ||= "Pending";
  },
  validate: validatePersistentVolumeClaim,
  validateUpdate: validatePersistentVolumeClaimUpdate,
  columns: [
    { name: "STATUS", value: phaseOrTerminating },
    { name: "VOLUME", value: (pvc) => pvc.spec?.volumeName ?? "" },
    { name: "CAPACITY", value: (pvc) => (pvc.spec?.volumeName ? (pvc.status?.capacity.storage ?? "") : "") },
    { name: "ACCESS MODES", value: (pvc) => (pvc.spec?.volumeName ? accessModesShort(pvc.status?.accessModes ?? []) : "") },
    { name: "STORAGECLASS", value: (pvc) => claimClass(pvc) },
    { name: "VOLUMEATTRIBUTESCLASS", value: () => "<unset>" },
    { name: "AGE", value: (pvc, now) => age(pvc.metadata?.creationTimestamp, now) },
    { name: "VOLUMEMODE", value: (pvc) => pvc.spec?.volumeMode ?? "", wide: true },
  ],
});

registerKind<StorageClass>({
  kind: "StorageClass",
  apiVersion: "storage.k8s.io/v1",
  resource: "storageclasses",
  singular: "storageclass",
  shortNames: ["sc"],
  namespaced: false,
  schema: StorageClassSchema,
  nameRule: "subdomain",
  hasStatus: false,
  // storage/v1's SetDefaults_StorageClass.
  defaults: (sc) => {
    sc.reclaimPolicy ??= "Delete";
    sc.volumeBindingMode ??= "Immediate";
  },
  validate: validateStorageClass,
  validateUpdate: validateStorageClassUpdate,
  printName: (sc) => (isDefaultStorageClass(sc) ? `${sc.metadata?.name} (default)` : (sc.metadata?.name ?? "")),
  columns: [
    { name: "PROVISIONER", value: (sc) => sc.provisioner },
    { name: "RECLAIMPOLICY", value: (sc) => sc.reclaimPolicy ?? "" },
    { name: "VOLUMEBINDINGMODE", value: (sc) => sc.volumeBindingMode ?? "" },
    { name: "ALLOWVOLUMEEXPANSION", value: (sc) => String(sc.allowVolumeExpansion ?? false) },
    { name: "AGE", value: (sc, now) => age(sc.metadata?.creationTimestamp, now) },
  ],
});
