import { clone, equals } from "@bufbuild/protobuf";
import type { Value } from "@bufbuild/protobuf/wkt";
import {
  PodSpecSchema,
  TolerationSchema,
  type Container,
  type Pod,
  type PodSpec,
  type Probe,
  type ResourceRequirements,
} from "../gen/kubelab/core/v1/pod_pb.js";
import { type FieldError, duplicate, forbidden, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { validateLabels } from "../validation/labels.js";
import { dns1123LabelErrors } from "../validation/names.js";
import { parseQuantity, QUANTITY_REGEX_MESSAGE, QuantityError } from "../quantity.js";
import { validateVolumeMounts, validateVolumes } from "./volumeValidation.js";

// Pod validation after k8s.io/kubernetes/pkg/apis/core/validation, with its wording.

const RESTART_POLICIES = ["Always", "OnFailure", "Never"] as const;
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"] as const;
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
const TOLERATION_OPERATORS = ["Exists", "Equal"] as const;
const ianaSvcName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const portRangeMsg = "must be between 1 and 65535, inclusive";

function validatePortName(field: string, name: string): FieldError[] {
  const errs: FieldError[] = [];
  if (name.length > 15) errs.push(invalid(field, name, "must be no more than 15 characters"));
  if (!ianaSvcName.test(name) || name.includes("--")) {
    errs.push(invalid(field, name, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"));
  }
  if (!/[a-z]/.test(name)) errs.push(invalid(field, name, "must contain at least one letter (a-z)"));
  return errs;
}

function validateIntOrStringPort(field: string, port: Value | undefined): FieldError[] {
  if (!port) return [required(field)];
  const k = port.kind;
  if (k.case === "numberValue") {
    return Number.isInteger(k.value) && k.value >= 1 && k.value <= 65535 ? [] : [invalid(field, k.value, portRangeMsg)];
  }
  if (k.case === "stringValue") return validatePortName(field, k.value);
  return [invalid(field, null, "must be an integer or a string")];
}

export function validateResources(field: string, r: ResourceRequirements | undefined): FieldError[] {
  if (!r) return [];
  const errs: FieldError[] = [];
  const parsed: Record<"limits" | "requests", Record<string, number>> = { limits: {}, requests: {} };
  for (const part of ["limits", "requests"] as const) {
    for (const [name, q] of Object.entries(r[part])) {
      const p = `${field}.${part}[${name}]`;
      try {
        const v = parseQuantity(q);
        if (v < 0) errs.push(invalid(p, q, "must be greater than or equal to 0"));
        parsed[part][name] = v;
      } catch (e) {
        if (!(e instanceof QuantityError)) throw e;
        errs.push(invalid(p, q, QUANTITY_REGEX_MESSAGE));
      }
    }
  }
  for (const [name, req] of Object.entries(parsed.requests)) {
    const lim = parsed.limits[name];
    if (lim !== undefined && req > lim) {
      errs.push(invalid(`${field}.requests`, r.requests[name], `must be less than or equal to ${name} limit of ${r.limits[name]}`));
    }
  }
  return errs;
}

function validateProbe(field: string, p: Probe | undefined, kind: "liveness" | "readiness" | "startup"): FieldError[] {
  if (!p) return [];
  const errs: FieldError[] = [];
  const handlers = [p.exec, p.httpGet, p.tcpSocket, p.grpc].filter(Boolean).length;
  if (handlers === 0) errs.push(required(field, "must specify a handler type"));
  if (handlers > 1) errs.push(forbidden(field, "may not specify more than 1 handler type"));
  if (p.exec && p.exec.command.length === 0) errs.push(required(`${field}.exec.command`));
  if (p.httpGet) errs.push(...validateIntOrStringPort(`${field}.httpGet.port`, p.httpGet.port));
  if (p.httpGet?.scheme && !["HTTP", "HTTPS"].includes(p.httpGet.scheme)) {
    errs.push(notSupported(`${field}.httpGet.scheme`, p.httpGet.scheme, ["HTTP", "HTTPS"]));
  }
  if (p.tcpSocket) errs.push(...validateIntOrStringPort(`${field}.tcpSocket.port`, p.tcpSocket.port));
  if (p.grpc && (p.grpc.port < 1 || p.grpc.port > 65535)) errs.push(invalid(`${field}.grpc.port`, p.grpc.port, portRangeMsg));
  for (const k of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const) {
    if (p[k] < 0) errs.push(invalid(`${field}.${k}`, p[k], "must be greater than or equal to 0"));
  }
  if (kind !== "readiness" && p.successThreshold !== 1) {
    errs.push(invalid(`${field}.successThreshold`, p.successThreshold, "must be 1"));
  }
  return errs;
}

function validateContainer(field: string, c: Container, volumeNames: Set<string>, init: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(required(`${field}.name`));
  else errs.push(...dns1123LabelErrors(c.name).map((d) => invalid(`${field}.name`, c.name, d)));
  if (!c.image.trim()) errs.push(required(`${field}.image`));
  if (c.imagePullPolicy && !PULL_POLICIES.includes(c.imagePullPolicy as never)) {
    errs.push(notSupported(`${field}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  }
  const portNames = new Set<string>();
  c.ports.forEach((port, i) => {
    const p = `${field}.ports[${i}]`;
    if (port.containerPort < 1 || port.containerPort > 65535) {
      errs.push(invalid(`${p}.containerPort`, port.containerPort, portRangeMsg));
    }
    if (port.hostPort && (port.hostPort < 1 || port.hostPort > 65535)) {
      errs.push(invalid(`${p}.hostPort`, port.hostPort, portRangeMsg));
    }
    if (port.protocol && !PROTOCOLS.includes(port.protocol as never)) {
      errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    }
    if (port.name) {
      errs.push(...validatePortName(`${p}.name`, port.name));
      if (portNames.has(port.name)) errs.push(duplicate(`${p}.name`, port.name));
      portNames.add(port.name);
    }
  });
  c.env.forEach((e, i) => {
    const p = `${field}.env[${i}]`;
    if (!e.name) errs.push(required(`${p}.name`));
    else if (e.name.includes("=") || !/^[\x20-\x7e]+$/.test(e.name)) {
      errs.push(
        invalid(`${p}.name`, e.name, "a valid environment variable name must consist of printable ASCII characters other than '='"),
      );
    }
    const vf = e.valueFrom;
    if (vf) {
      const sources = [vf.fieldRef, vf.resourceFieldRef, vf.configMapKeyRef, vf.secretKeyRef].filter(Boolean).length;
      if (e.value) errs.push(invalid(`${p}.valueFrom`, "", "may not be specified when `value` is not empty"));
      if (sources !== 1) errs.push(invalid(`${p}.valueFrom`, "", "may not have more than one field specified at a time"));
      if (vf.configMapKeyRef && !vf.configMapKeyRef.key) errs.push(required(`${p}.valueFrom.configMapKeyRef.key`));
      if (vf.secretKeyRef && !vf.secretKeyRef.key) errs.push(required(`${p}.valueFrom.secretKeyRef.key`));
      if (vf.fieldRef && !vf.fieldRef.fieldPath) errs.push(required(`${p}.valueFrom.fieldRef.fieldPath`));
    }
  });
  c.envFrom.forEach((e, i) => {
    if (!e.configMapRef === !e.secretRef) {
      errs.push(invalid(`${field}.envFrom[${i}]`, "", "may not have more than one field specified at a time"));
    }
  });
  errs.push(...validateResources(`${field}.resources`, c.resources));
  errs.push(...validateVolumeMounts(`${field}.volumeMounts`, c, volumeNames));
  if (init) {
    for (const k of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
      if (c[k] && c.restartPolicy !== "Always")
        errs.push(forbidden(`${field}.${k}`, "may not be set for init containers without restartPolicy=Always"));
    }
  } else {
    errs.push(...validateProbe(`${field}.livenessProbe`, c.livenessProbe, "liveness"));
    errs.push(...validateProbe(`${field}.readinessProbe`, c.readinessProbe, "readiness"));
    errs.push(...validateProbe(`${field}.startupProbe`, c.startupProbe, "startup"));
  }
  return errs;
}

export function validatePodSpec(field: string, spec: PodSpec | undefined): FieldError[] {
  if (!spec) return [required(field)];
  const errs: FieldError[] = [];
  const { errs: volumeErrs, names: volumeNames } = validateVolumes(`${field}.volumes`, spec.volumes);
  errs.push(...volumeErrs);
  if (spec.containers.length === 0) errs.push(required(`${field}.containers`));
  const names = new Set<string>();
  const check = (list: Container[], key: string, init: boolean) =>
    list.forEach((c, i) => {
      const p = `${field}.${key}[${i}]`;
      errs.push(...validateContainer(p, c, volumeNames, init));
      if (c.name && names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
      names.add(c.name);
    });
  check(spec.initContainers, "initContainers", true);
  check(spec.containers, "containers", false);
  if (spec.restartPolicy && !RESTART_POLICIES.includes(spec.restartPolicy as never)) {
    errs.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  }
  if (spec.dnsPolicy && !DNS_POLICIES.includes(spec.dnsPolicy as never)) {
    errs.push(notSupported(`${field}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  }
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) {
    errs.push(invalid(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, "must be greater than or equal to 0"));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= 0) {
    errs.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, "must be between 1 and 2147483647, inclusive"));
  }
  errs.push(...validateLabels(`${field}.nodeSelector`, spec.nodeSelector));
  spec.tolerations.forEach((t, i) => {
    const p = `${field}.tolerations[${i}]`;
    if (t.operator && !TOLERATION_OPERATORS.includes(t.operator as never))
      errs.push(notSupported(`${p}.operator`, t.operator, TOLERATION_OPERATORS));
    if (t.operator === "Exists" && t.value) errs.push(invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
    if (!t.key && t.operator !== "Exists")
      errs.push(
        invalid(`${p}.operator`, t.operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'),
      );
    if (t.effect && !TAINT_EFFECTS.includes(t.effect as never)) errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      errs.push(invalid(`${p}.effect`, t.effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
  });
  return errs;
}

export function validatePod(pod: Pod): FieldError[] {
  return validatePodSpec("spec", pod.spec);
}

const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** Pod spec is immutable but for images, activeDeadlineSeconds and added tolerations, as in Kubernetes. */
export function validatePodUpdate(pod: Pod, old: Pod): FieldError[] {
  if (!pod.spec || !old.spec) return [];
  const allowed = clone(PodSpecSchema, old.spec);
  const errs: FieldError[] = [];
  if (pod.spec.containers.length === allowed.containers.length) {
    pod.spec.containers.forEach((c, i) => (allowed.containers[i].image = c.image));
  }
  if (pod.spec.initContainers.length === allowed.initContainers.length) {
    pod.spec.initContainers.forEach((c, i) => (allowed.initContainers[i].image = c.image));
  }
  allowed.activeDeadlineSeconds = pod.spec.activeDeadlineSeconds;
  const oldTolerations = old.spec.tolerations;
  const kept = oldTolerations.every((t) => pod.spec!.tolerations.some((n) => equals(TolerationSchema, n, t)));
  if (kept) allowed.tolerations = pod.spec.tolerations;
  if (!equals(PodSpecSchema, allowed, pod.spec)) errs.push(forbidden("spec", POD_UPDATE_FORBIDDEN));
  if (old.spec.activeDeadlineSeconds !== undefined && pod.spec.activeDeadlineSeconds === undefined) {
    errs.push(invalid("spec.activeDeadlineSeconds", null, "must not update from a positive integer to nil value"));
  }
  return errs;
}

export function isImageWithoutTagOrLatest(image: string): boolean {
  if (image.includes("@")) return false;
  const lastSlash = image.lastIndexOf("/");
  const tagSep = image.indexOf(":", lastSlash + 1);
  return tagSep < 0 || image.slice(tagSep + 1) === "latest";
}
