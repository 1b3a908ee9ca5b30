import { isPodTerminal, type Container, type Pod } from "@kubelab/api";
import type { RuntimeContainer } from "../runtime/dockerRuntime.js";
import { attemptsOf, isExited } from "./podStatus.js";

// The kubelet's decisions for one pod, as Kubernetes' kubelet computes them (computePodActions)
// before it acts: pure functions of what the pod asks for and what Docker runs, tested beside
// them. PodSyncer observes, asks these what to do, and does it.

/** What becomes of a pod's sandbox, and so of the pod as a whole. */
export type SandboxAction =
  /** The pod is being deleted: graceful termination. */
  | { kind: "terminate" }
  /** The pod has finished (Succeeded or Failed): whatever still runs is stopped. */
  | { kind: "finished" }
  /** Its newest sandbox runs: the containers are synced in it. */
  | { kind: "keep"; sandbox: RuntimeContainer }
  /** No running sandbox: a new one (the old one, if any, and its containers go first). */
  | { kind: "create"; replacing?: RuntimeContainer };

/** The sandbox step, from the pod object and the pod's sandboxes in Docker. */
export function planSandbox(pod: Pod, sandboxes: readonly RuntimeContainer[]): SandboxAction {
  if (pod.metadata?.deletionTimestamp) return { kind: "terminate" };
  if (isPodTerminal(pod)) return { kind: "finished" };
  const newest = [...sandboxes].sort((a, b) => b.attempt - a.attempt)[0];
  if (newest?.state === "running") return { kind: "keep", sandbox: newest };
  return newest ? { kind: "create", replacing: newest } : { kind: "create" };
}

/** What the container step needs to know beyond Docker's state. */
export interface ContainerObservation {
  pod: Pod;
  /** The pod's containers in Docker (sandbox excluded), every attempt. */
  containers: readonly RuntimeContainer[];
  /** Why a running app container must restart now (a failed liveness or startup probe, a changed spec); undefined if it need not. */
  restartReason(c: Container, running: RuntimeContainer): string | undefined;
  /** How long a container that exited must still wait out its CrashLoopBackOff (0: it may start now). */
  crashBackoffMs(c: Container, exited: RuntimeContainer): number;
}

export type ContainerAction =
  /** Start the container's `attempt`; `afterExit` is the attempt it replaces, which counts toward its back-off. */
  | { kind: "start"; container: Container; type: "init" | "app"; attempt: number; afterExit?: RuntimeContainer }
  /** Kill the running container (for `reason`), then start its next attempt, whatever the restart policy. */
  | { kind: "restart"; container: Container; running: RuntimeContainer; reason: string }
  /** The container waits out its CrashLoopBackOff. */
  | { kind: "backOff"; container: Container; exited: RuntimeContainer; waitMs: number }
  /** Nothing to do and nothing to wait for: it runs as it should, or it is done for good. */
  | { kind: "settled"; container: Container };

export interface ContainerPlan {
  actions: ContainerAction[];
  /** An init container failed under restartPolicy Never: the pod has failed. */
  podFailed: boolean;
}

/**
 * The container step: init containers one at a time, in order, each succeeding before the next
 * starts (a failed one waits out its back-off, or fails the pod under restartPolicy Never); then
 * every app container: a running one restarts when its probes or spec say so; an exited one is
 * started again as the restart policy says, after its back-off; a missing one is started.
 */
export function planContainers(o: ContainerObservation): ContainerPlan {
  const actions: ContainerAction[] = [];
  const policy = o.pod.spec?.restartPolicy || "Always";
  for (const ic of o.pod.spec?.initContainers ?? []) {
    const [cur] = attemptsOf([...o.containers], ic.name);
    if (cur && isExited(cur) && cur.exitCode === 0 && cur.startedAt) continue;
    if (cur && !isExited(cur)) return { actions, podFailed: false }; // still running
    if (cur && policy === "Never") return { actions, podFailed: true };
    const waitMs = cur ? o.crashBackoffMs(ic, cur) : 0;
    if (cur && waitMs > 0) actions.push({ kind: "backOff", container: ic, exited: cur, waitMs });
    else actions.push({ kind: "start", container: ic, type: "init", attempt: cur ? cur.attempt + 1 : 0, afterExit: cur });
    return { actions, podFailed: false };
  }
  for (const c of o.pod.spec?.containers ?? []) {
    const [cur] = attemptsOf([...o.containers], c.name);
    if (cur?.state === "running") {
      const reason = o.restartReason(c, cur);
      actions.push(reason ? { kind: "restart", container: c, running: cur, reason } : { kind: "settled", container: c });
      continue;
    }
    if (cur && !isExited(cur)) continue; // restarting, paused: Docker's business
    if (cur) {
      const restart = policy === "Always" || (policy === "OnFailure" && (cur.exitCode !== 0 || !cur.startedAt));
      if (!restart) {
        actions.push({ kind: "settled", container: c });
        continue;
      }
      const waitMs = o.crashBackoffMs(c, cur);
      if (waitMs > 0) {
        actions.push({ kind: "backOff", container: c, exited: cur, waitMs });
        continue;
      }
    }
    actions.push({ kind: "start", container: c, type: "app", attempt: cur ? cur.attempt + 1 : 0, afterExit: cur });
  }
  return { actions, podFailed: false };
}
