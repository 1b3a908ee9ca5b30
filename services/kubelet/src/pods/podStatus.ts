import { create } from "@bufbuild/protobuf";
import {
  ContainerStateSchema,
  ContainerStatusSchema,
  PodConditionSchema,
  PodStatusSchema,
  podQOSClass,
  type Container,
  type ContainerState,
  type ContainerStatus,
  type Pod,
  type PodCondition,
  type PodStatus,
} from "@kubelab/api";
import type { RuntimeContainer } from "../runtime/dockerRuntime.js";

export interface Waiting {
  reason: string;
  message: string;
}

/** What the syncer knows of a pod beyond Docker's state, for its status. */
export interface PodObservation {
  pod: Pod;
  /** The pod's containers in Docker (sandbox excluded), any attempt. */
  containers: RuntimeContainer[];
  podIP: string;
  hostIP: string;
  /** Why a container is not running, when the syncer knows (ErrImagePull, CrashLoopBackOff...). */
  waiting: Map<string, Waiting>;
  ready: (c: Container, id: string) => boolean;
  started: (c: Container, id: string) => boolean;
  now: string;
}

/** The container's attempts, newest first. */
export function attemptsOf(containers: RuntimeContainer[], name: string): RuntimeContainer[] {
  return containers.filter((c) => c.name === name).sort((a, b) => b.attempt - a.attempt);
}

/** A run that ended: Kubernetes' reasons OOMKilled, Completed, Error; never started: StartError. */
export function terminatedState(c: RuntimeContainer): ContainerState {
  const neverStarted = c.state === "created" || !c.startedAt;
  const reason = c.oomKilled ? "OOMKilled" : neverStarted ? "StartError" : c.exitCode === 0 ? "Completed" : "Error";
  return create(ContainerStateSchema, {
    terminated: {
      exitCode: neverStarted && c.exitCode === 0 ? 128 : c.exitCode,
      reason,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt || c.createdAt,
      containerId: `docker://${c.id}`,
    },
  });
}

export const isExited = (c: RuntimeContainer) => c.state === "exited" || c.state === "dead" || c.state === "created";

function containerStatus(o: PodObservation, spec: Container, defaultWaiting: string): ContainerStatus {
  const [cur, prev] = attemptsOf(o.containers, spec.name);
  const waiting = o.waiting.get(spec.name);
  const status = create(ContainerStatusSchema, {
    name: spec.name,
    image: spec.image,
    imageId: cur?.imageId ? `docker://${cur.imageId}` : "",
    containerId: cur ? `docker://${cur.id}` : "",
    restartCount: cur?.attempt ?? 0,
    ready: false,
    started: false,
  });
  if (cur && cur.state === "running") {
    status.state = create(ContainerStateSchema, { running: { startedAt: cur.startedAt } });
    if (prev && isExited(prev)) status.lastState = terminatedState(prev);
    status.started = o.started(spec, cur.id);
    status.ready = o.ready(spec, cur.id);
  } else if (waiting) {
    status.state = create(ContainerStateSchema, { waiting: { reason: waiting.reason, message: waiting.message } });
    if (cur && isExited(cur)) status.lastState = terminatedState(cur);
  } else if (cur && isExited(cur)) {
    status.state = terminatedState(cur);
    if (prev && isExited(prev)) status.lastState = terminatedState(prev);
  } else {
    status.state = create(ContainerStateSchema, { waiting: { reason: defaultWaiting } });
  }
  return status;
}

function condition(type: string, ok: boolean, reason: string, message: string, old: PodCondition[], now: string): PodCondition {
  const status = ok ? "True" : "False";
  const prev = old.find((c) => c.type === type);
  return create(PodConditionSchema, {
    type,
    status,
    lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    reason: ok ? "" : reason,
    message: ok ? "" : message,
  });
}

/** The kubelet's getPhase: what the containers' states add up to, given the restart policy. */
export function podPhase(pod: Pod, initStatuses: ContainerStatus[], statuses: ContainerStatus[]): string {
  const policy = pod.spec?.restartPolicy || "Always";
  for (const s of initStatuses) {
    const t = s.state?.terminated ?? (s.state?.waiting ? s.lastState?.terminated : undefined);
    if (t && t.exitCode !== 0 && policy === "Never") return "Failed";
  }
  if (initStatuses.some((s) => !(s.state?.terminated && s.state.terminated.exitCode === 0))) return "Pending";
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

export function computePodStatus(o: PodObservation): PodStatus {
  const { pod } = o;
  const old = pod.status ?? create(PodStatusSchema);
  const spec = pod.spec!;
  const initStatuses = spec.initContainers.map((c) => containerStatus(o, c, "PodInitializing"));
  const initDone = initStatuses.every((s) => s.state?.terminated?.exitCode === 0);
  const statuses = spec.containers.map((c) => containerStatus(o, c, initDone ? "ContainerCreating" : "PodInitializing"));
  const phase = podPhase(pod, initStatuses, statuses);

  const incompleteInit = initStatuses.filter((s) => !(s.state?.terminated?.exitCode === 0)).map((s) => s.name);
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === "Succeeded" || phase === "Failed";
  const readyReason = completed ? "PodCompleted" : "ContainersNotReady";
  const readyMessage = completed ? "" : `containers with unready status: [${unready.join(" ")}]`;
  const scheduled = old.conditions.find((c) => c.type === "PodScheduled");
  const conditions = [
    condition(
      "Initialized",
      incompleteInit.length === 0,
      "ContainersNotInitialized",
      `containers with incomplete status: [${incompleteInit.join(" ")}]`,
      old.conditions,
      o.now,
    ),
    condition("Ready", unready.length === 0 && !completed, readyReason, readyMessage, old.conditions, o.now),
    condition("ContainersReady", unready.length === 0 && !completed, readyReason, readyMessage, old.conditions, o.now),
    scheduled ?? condition("PodScheduled", true, "", "", old.conditions, o.now),
  ];
  // Conditions someone else owns (readiness gates, DisruptionTarget) stay as they are.
  const own = new Set(["Initialized", "Ready", "ContainersReady", "PodScheduled"]);
  conditions.push(...old.conditions.filter((c) => !own.has(c.type)));

  return create(PodStatusSchema, {
    phase,
    conditions,
    hostIp: o.hostIP,
    hostIps: o.hostIP ? [{ ip: o.hostIP }] : [],
    podIp: o.podIP,
    podIps: o.podIP ? [{ ip: o.podIP }] : [],
    startTime: old.startTime || o.now,
    initContainerStatuses: initStatuses,
    containerStatuses: statuses,
    qosClass: old.qosClass || podQOSClass(pod),
    nominatedNodeName: old.nominatedNodeName,
  });
}
