import type {
  ConfigMapProjection,
  Container,
  DownwardAPIVolumeFile,
  KeyToPath,
  SecretProjection,
  Volume,
} from "../gen/kubelab/core/v1/pod_pb.js";
import { type FieldError, duplicate, forbidden, invalid, notFound, notSupported, required } from "../validation/fieldErrors.js";
import { dns1123LabelErrors } from "../validation/names.js";
import { parseQuantity, QUANTITY_REGEX_MESSAGE, QuantityError } from "../quantity.js";

// Volume validation after k8s.io/kubernetes/pkg/apis/core/validation (validateVolumes,
// validateVolumeSource, validateVolumeMounts), with its wording.

/** hostPath.type values, sorted as Kubernetes lists them. */
export const HOST_PATH_TYPES = [
  "",
  "BlockDevice",
  "CharDevice",
  "Directory",
  "DirectoryOrCreate",
  "File",
  "FileOrCreate",
  "Socket",
] as const;
const MOUNT_PROPAGATION_MODES = ["Bidirectional", "HostToContainer", "None"] as const;
/** The pod fields a downwardAPI volume file may hold (labels and annotations also by key: metadata.labels['k']). */
export const DOWNWARD_API_VOLUME_FIELDS = [
  "metadata.annotations",
  "metadata.labels",
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
] as const;
export const DOWNWARD_API_RESOURCES = [
  "limits.cpu",
  "limits.ephemeral-storage",
  "limits.memory",
  "requests.cpu",
  "requests.ephemeral-storage",
  "requests.memory",
] as const;
const FILE_MODE_MESSAGE = "must be a number between 0 and 0777 (octal), both inclusive";

/** The sources of a volume in the order Kubernetes checks them (the second one found is the one named). */
const SOURCES = [
  ["hostPath", "hostPath"],
  ["emptyDir", "emptyDir"],
  ["secret", "secret"],
  ["persistentVolumeClaim", "persistentVolumeClaim"],
  ["downwardApi", "downwardAPI"],
  ["configMap", "configMap"],
  ["projected", "projected"],
] as const;

const subscripted = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** Kubernetes' validatePathNoBacksteps: no ".." element. */
function noBacksteps(field: string, path: string): FieldError[] {
  return path.split("/").includes("..") ? [invalid(field, path, "must not contain '..'")] : [];
}

/** Kubernetes' validateLocalDescendingPath: relative, without "..". */
export function validateLocalDescendingPath(field: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (path.startsWith("/")) errs.push(invalid(field, path, "must be a relative path"));
  errs.push(...noBacksteps(field, path));
  return errs;
}

/** Kubernetes' validateLocalNonReservedPath: descending, and not starting with ".." (the atomic writer's own names). */
function validateLocalNonReservedPath(field: string, path: string): FieldError[] {
  const errs = validateLocalDescendingPath(field, path);
  if (path.startsWith("..")) errs.push(invalid(field, path, "must not start with '..'"));
  return errs;
}

function validateMode(field: string, mode: number | undefined): FieldError[] {
  return mode !== undefined && (mode < 0 || mode > 0o777) ? [invalid(field, mode, FILE_MODE_MESSAGE)] : [];
}

function validateKeyToPath(field: string, kp: KeyToPath): FieldError[] {
  const errs: FieldError[] = [];
  if (!kp.key) errs.push(required(`${field}.key`));
  if (!kp.path) errs.push(required(`${field}.path`));
  errs.push(...validateLocalNonReservedPath(`${field}.path`, kp.path));
  errs.push(...validateMode(`${field}.mode`, kp.mode));
  return errs;
}

function validateDownwardAPIFile(field: string, f: DownwardAPIVolumeFile): FieldError[] {
  const errs: FieldError[] = [];
  if (!f.path) errs.push(required(`${field}.path`));
  errs.push(...validateLocalNonReservedPath(`${field}.path`, f.path));
  if (f.fieldRef) {
    const path = f.fieldRef.fieldPath;
    if (!path) errs.push(required(`${field}.fieldRef.fieldPath`));
    else if (!DOWNWARD_API_VOLUME_FIELDS.includes(path as never) && !subscripted.test(path)) {
      errs.push(notSupported(`${field}.fieldRef.fieldPath`, path, DOWNWARD_API_VOLUME_FIELDS));
    }
    if (f.resourceFieldRef) errs.push(invalid(field, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
  } else if (f.resourceFieldRef) {
    const r = f.resourceFieldRef;
    if (!r.containerName) errs.push(required(`${field}.resourceFieldRef.containerName`));
    if (!r.resource) errs.push(required(`${field}.resourceFieldRef.resource`));
    else if (!DOWNWARD_API_RESOURCES.includes(r.resource as never)) {
      errs.push(notSupported(`${field}.resourceFieldRef.resource`, r.resource, DOWNWARD_API_RESOURCES));
    }
    errs.push(...validateDivisor(`${field}.resourceFieldRef.divisor`, r.divisor));
  } else {
    errs.push(required(field, "one of fieldRef and resourceFieldRef is required"));
  }
  errs.push(...validateMode(`${field}.mode`, f.mode));
  return errs;
}

function validateDivisor(field: string, divisor: string): FieldError[] {
  if (!divisor) return [];
  try {
    return parseQuantity(divisor) > 0 ? [] : [invalid(field, divisor, "must be greater than 0")];
  } catch (e) {
    if (!(e instanceof QuantityError)) throw e;
    return [invalid(field, divisor, QUANTITY_REGEX_MESSAGE)];
  }
}

function validateProjectedObject(field: string, p: ConfigMapProjection | SecretProjection, paths: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  if (!p.name) errs.push(required(`${field}.name`));
  p.items.forEach((kp, i) => {
    errs.push(...validateKeyToPath(`${field}.items[${i}]`, kp));
    if (paths.has(kp.path)) errs.push(invalid(`${field}.items[${i}].path`, kp.path, "conflicting duplicate paths"));
    paths.add(kp.path);
  });
  return errs;
}

function validateVolumeSource(field: string, v: Volume): FieldError[] {
  const errs: FieldError[] = [];
  const present = SOURCES.filter(([key]) => v[key] !== undefined).map(([, json]) => json);
  if (present.length === 0) errs.push(required(field, "must specify a volume type"));
  for (const extra of present.slice(1)) errs.push(forbidden(`${field}.${extra}`, "may not specify more than 1 volume type"));
  if (v.hostPath) {
    if (!v.hostPath.path) errs.push(required(`${field}.hostPath.path`));
    else errs.push(...noBacksteps(`${field}.hostPath.path`, v.hostPath.path));
    if (!HOST_PATH_TYPES.includes(v.hostPath.type as never)) {
      errs.push(notSupported(`${field}.hostPath.type`, v.hostPath.type, HOST_PATH_TYPES));
    }
  }
  if (v.emptyDir?.sizeLimit) {
    try {
      if (parseQuantity(v.emptyDir.sizeLimit) < 0) {
        errs.push(forbidden(`${field}.emptyDir.sizeLimit`, "SizeLimit field must be a valid resource quantity"));
      }
    } catch (e) {
      if (!(e instanceof QuantityError)) throw e;
      errs.push(invalid(`${field}.emptyDir.sizeLimit`, v.emptyDir.sizeLimit, QUANTITY_REGEX_MESSAGE));
    }
  }
  for (const [key, src] of [
    ["secret", v.secret],
    ["configMap", v.configMap],
  ] as const) {
    if (!src) continue;
    const name = "secretName" in src ? src.secretName : src.name;
    if (!name) errs.push(required(`${field}.${key}.${key === "secret" ? "secretName" : "name"}`));
    errs.push(...validateMode(`${field}.${key}.defaultMode`, src.defaultMode));
    src.items.forEach((kp, i) => errs.push(...validateKeyToPath(`${field}.${key}.items[${i}]`, kp)));
  }
  if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errs.push(required(`${field}.persistentVolumeClaim.claimName`));
  if (v.downwardApi) {
    errs.push(...validateMode(`${field}.downwardAPI.defaultMode`, v.downwardApi.defaultMode));
    v.downwardApi.items.forEach((f, i) => errs.push(...validateDownwardAPIFile(`${field}.downwardAPI.items[${i}]`, f)));
  }
  if (v.projected) {
    const p = `${field}.projected`;
    errs.push(...validateMode(`${p}.defaultMode`, v.projected.defaultMode));
    const paths = new Set<string>();
    v.projected.sources.forEach((s, i) => {
      const sp = `${p}.sources[${i}]`;
      const kinds = [s.secret, s.configMap, s.downwardApi].filter(Boolean).length;
      if (kinds === 0) errs.push(required(sp, "must specify exactly 1 volume type"));
      if (kinds > 1) errs.push(forbidden(sp, "may not specify more than 1 volume type per source"));
      if (s.secret) errs.push(...validateProjectedObject(`${sp}.secret`, s.secret, paths));
      if (s.configMap) errs.push(...validateProjectedObject(`${sp}.configMap`, s.configMap, paths));
      s.downwardApi?.items.forEach((f, j) => {
        const fp = `${sp}.downwardAPI.items[${j}]`;
        errs.push(...validateDownwardAPIFile(fp, f));
        if (paths.has(f.path)) errs.push(invalid(`${fp}.path`, f.path, "conflicting duplicate paths"));
        paths.add(f.path);
      });
    });
  }
  return errs;
}

/** A pod's volumes: DNS-label names, no duplicates, exactly one source each. Returns the errors and the names. */
export function validateVolumes(field: string, volumes: Volume[]): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const p = `${field}[${i}]`;
    if (!v.name) errs.push(required(`${p}.name`));
    else errs.push(...dns1123LabelErrors(v.name).map((d) => invalid(`${p}.name`, v.name, d)));
    if (v.name && names.has(v.name)) errs.push(duplicate(`${p}.name`, v.name));
    names.add(v.name);
    errs.push(...validateVolumeSource(p, v));
  });
  return { errs, names };
}

/**
 * A container's volumeMounts. Kubernetes names subPath and subPathExpr errors under the list's
 * path, not the item's (volumeMounts.subPath); kept so, as messages should read the same.
 */
export function validateVolumeMounts(field: string, c: Container, volumeNames: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const mountPoints = new Set<string>();
  c.volumeMounts.forEach((m, i) => {
    const p = `${field}[${i}]`;
    if (!m.name) errs.push(required(`${p}.name`));
    else if (!volumeNames.has(m.name)) errs.push(notFound(`${p}.name`, m.name));
    if (!m.mountPath) errs.push(required(`${p}.mountPath`));
    else if (mountPoints.has(m.mountPath)) errs.push(invalid(`${p}.mountPath`, m.mountPath, "must be unique"));
    mountPoints.add(m.mountPath);
    if (m.subPath) errs.push(...validateLocalDescendingPath(`${field}.subPath`, m.subPath));
    if (m.subPathExpr) {
      if (m.subPath) errs.push(invalid(`${p}.subPathExpr`, m.subPathExpr, "subPathExpr and subPath are mutually exclusive"));
      errs.push(...validateLocalDescendingPath(`${field}.subPathExpr`, m.subPathExpr));
    }
    if (m.mountPropagation) {
      if (!MOUNT_PROPAGATION_MODES.includes(m.mountPropagation as never)) {
        errs.push(notSupported(`${field}.mountPropagation`, m.mountPropagation, MOUNT_PROPAGATION_MODES));
      } else if (m.mountPropagation === "Bidirectional" && !c.securityContext?.privileged) {
        errs.push(forbidden(`${field}.mountPropagation`, "Bidirectional mount propagation is available only to privileged containers"));
      }
    }
  });
  return errs;
}
