import { create } from "@bufbuild/protobuf";
import {
  EmptyDirVolumeSourceSchema,
  PodSchema,
  PodSecurityContextSchema,
  PodStatusSchema,
  type Container,
  type Pod,
  type Probe,
} from "../gen/kubelab/core/v1/pod_pb.js";
import { registerKind } from "../registry.js";
import { age, orNone } from "./print.js";
import { isImageWithoutTagOrLatest, validatePod, validatePodUpdate } from "./podValidation.js";
import { parseQuantity } from "../quantity.js";

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  if (p.timeoutSeconds === 0) p.timeoutSeconds = 1;
  if (p.periodSeconds === 0) p.periodSeconds = 10;
  if (p.successThreshold === 0) p.successThreshold = 1;
  if (p.failureThreshold === 0) p.failureThreshold = 3;
  if (p.httpGet) {
    if (!p.httpGet.path) p.httpGet.path = "/";
    if (!p.httpGet.scheme) p.httpGet.scheme = "HTTP";
  }
}

function defaultContainer(c: Container): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = isImageWithoutTagOrLatest(c.image) ? "Always" : "IfNotPresent";
  if (!c.terminationMessagePath) c.terminationMessagePath = "/dev/termination-log";
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = "File";
  for (const port of c.ports) if (!port.protocol) port.protocol = "TCP";
  if (c.resources) {
    // Kubernetes: a limit without a request makes the request equal to the limit.
    for (const [k, v] of Object.entries(c.resources.limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.preStop, c.lifecycle?.postStart]) {
    if (h?.httpGet && !h.httpGet.path) h.httpGet.path = "/";
    if (h?.httpGet && !h.httpGet.scheme) h.httpGet.scheme = "HTTP";
  }
}

// Defaulting runs before validation, so a malformed quantity must not throw here.
const quantityOrZero = (q: string) => {
  try {
    return parseQuantity(q);
  } catch {
    return 0;
  }
};

/** Kubernetes' QoS class: Guaranteed, Burstable or BestEffort. */
export function podQOSClass(pod: Pod): string {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ["cpu", "memory"]) {
      if (req[r] && quantityOrZero(req[r]) > 0) any = true;
      if (lim[r] && quantityOrZero(lim[r]) > 0) any = true;
      if (!lim[r] || (req[r] !== undefined && quantityOrZero(req[r]) !== quantityOrZero(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

export function defaultPod(pod: Pod): void {
  const spec = pod.spec;
  if (!spec) return;
  if (!spec.restartPolicy) spec.restartPolicy = "Always";
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (!spec.dnsPolicy) spec.dnsPolicy = "ClusterFirst";
  if (!spec.schedulerName) spec.schedulerName = "default-scheduler";
  if (!spec.securityContext) spec.securityContext = create(PodSecurityContextSchema);
  if (spec.enableServiceLinks === undefined) spec.enableServiceLinks = true;
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || "default";
  for (const t of spec.tolerations) if (!t.operator) t.operator = "Equal";
  for (const v of spec.volumes) {
    if (!v.emptyDir && !v.hostPath && !v.configMap && !v.secret && !v.persistentVolumeClaim && !v.downwardApi && !v.projected) {
      v.emptyDir = create(EmptyDirVolumeSourceSchema);
    }
    if (v.configMap && v.configMap.defaultMode === undefined) v.configMap.defaultMode = 0o644;
    if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = 0o644;
    if (v.downwardApi && v.downwardApi.defaultMode === undefined) v.downwardApi.defaultMode = 0o644;
    if (v.projected && v.projected.defaultMode === undefined) v.projected.defaultMode = 0o644;
  }
  spec.initContainers.forEach(defaultContainer);
  spec.containers.forEach(defaultContainer);
  if (!pod.status) pod.status = create(PodStatusSchema);
  if (!pod.status.phase) pod.status.phase = "Pending";
  if (!pod.status.qosClass) pod.status.qosClass = podQOSClass(pod);
}

/** The STATUS column as kubectl computes it: a reason beats the phase, Terminating beats all. */
export function podDisplayStatus(pod: Pod): string {
  let reason = pod.status?.reason || pod.status?.phase || "Unknown";
  const inits = pod.status?.initContainerStatuses ?? [];
  let initializing = false;
  inits.forEach((s, i) => {
    if (initializing) return;
    const t = s.state?.terminated;
    if (t && t.exitCode === 0) return;
    initializing = true;
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    else if (s.state?.waiting?.reason && s.state.waiting.reason !== "PodInitializing") reason = `Init:${s.state.waiting.reason}`;
    else reason = `Init:${i}/${pod.spec?.initContainers.length ?? 0}`;
  });
  if (!initializing) {
    let hasRunning = false;
    for (const s of [...(pod.status?.containerStatuses ?? [])].reverse()) {
      if (s.state?.waiting?.reason) reason = s.state.waiting.reason;
      else if (s.state?.terminated?.reason) reason = s.state.terminated.reason;
      else if (s.state?.terminated)
        reason = s.state.terminated.signal ? `Signal:${s.state.terminated.signal}` : `ExitCode:${s.state.terminated.exitCode}`;
      else if (s.ready && s.state?.running) hasRunning = true;
    }
    if (reason === "Completed" && hasRunning) reason = "Running";
  }
  if (pod.metadata?.deletionTimestamp) reason = pod.status?.reason === "NodeLost" ? "Unknown" : "Terminating";
  return reason;
}

registerKind<Pod>({
  kind: "Pod",
  apiVersion: "v1",
  resource: "pods",
  categories: ["all"],
  singular: "pod",
  shortNames: ["po"],
  namespaced: true,
  schema: PodSchema,
  nameRule: "subdomain",
  hasStatus: true,
  selectableFields: {
    "spec.nodeName": (p) => p.spec?.nodeName ?? "",
    "spec.restartPolicy": (p) => p.spec?.restartPolicy ?? "",
    "spec.schedulerName": (p) => p.spec?.schedulerName ?? "",
    "spec.serviceAccountName": (p) => p.spec?.serviceAccountName ?? "",
    "status.phase": (p) => p.status?.phase ?? "",
    "status.podIP": (p) => p.status?.podIp ?? "",
    "status.nominatedNodeName": (p) => p.status?.nominatedNodeName ?? "",
  },
  prepareForCreate: (p) => {
    p.status = create(PodStatusSchema, { phase: "Pending" });
  },
  // As Kubernetes: a pod bound to a node waits for its kubelet to stop it; one never scheduled,
  // or already finished, goes at once.
  deletionGracePeriod: (p, requested) => {
    if (!p.spec?.nodeName || p.status?.phase === "Succeeded" || p.status?.phase === "Failed") return 0;
    return Math.max(0, requested ?? p.spec.terminationGracePeriodSeconds ?? 30);
  },
  defaults: defaultPod,
  validate: validatePod,
  validateUpdate: validatePodUpdate,
  columns: [
    {
      name: "READY",
      value: (p) => `${(p.status?.containerStatuses ?? []).filter((s) => s.ready).length}/${p.spec?.containers.length ?? 0}`,
    },
    { name: "STATUS", value: podDisplayStatus },
    {
      name: "RESTARTS",
      value: (p) => String((p.status?.containerStatuses ?? []).reduce((n, s) => n + s.restartCount, 0)),
    },
    { name: "AGE", value: (p, now) => age(p.metadata?.creationTimestamp, now) },
    { name: "IP", value: (p) => orNone(p.status?.podIp), wide: true },
    { name: "NODE", value: (p) => orNone(p.spec?.nodeName), wide: true },
    { name: "NOMINATED NODE", value: (p) => orNone(p.status?.nominatedNodeName), wide: true },
    {
      name: "READINESS GATES",
      value: (p) => (p.spec?.readinessGates.length ? `0/${p.spec.readinessGates.length}` : "<none>"),
      wide: true,
    },
  ],
});
