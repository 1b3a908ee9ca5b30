import type { Container, Pod, Probe } from "@kubelab/api";
import { runProbe, type ProbeOutcome, type ProbeTarget } from "./probeRunner.js";

export type ProbeKind = "liveness" | "readiness" | "startup";

const PROBE_TITLE: Record<ProbeKind, string> = { liveness: "Liveness", readiness: "Readiness", startup: "Startup" };

export interface ProbeListener {
  /** A result changed (or a liveness/startup probe gave up): the pod needs a sync. */
  onChange(podUid: string): void;
  /** A probe failed once (the kubelet's Unhealthy event). */
  onFailure(pod: Pod, container: Container, kind: ProbeKind, outcome: ProbeOutcome): void;
}

interface Worker {
  kind: ProbeKind;
  containerId: string;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  successes: number;
  failures: number;
  /** true: passing; false: failing; undefined: not decided yet. */
  result: boolean | undefined;
}

/**
 * One worker per (container, probe), as the kubelet's prober manager: after initialDelaySeconds it
 * probes every periodSeconds and flips its result after successThreshold successes or
 * failureThreshold failures. Readiness starts failing, liveness starts passing; liveness and
 * readiness wait until the startup probe, if any, has passed.
 */
export class ProbeManager {
  private readonly workers = new Map<string, Worker>();

  constructor(private readonly listener: ProbeListener) {}

  private key(podUid: string, container: string, kind: ProbeKind) {
    return `${podUid}/${container}/${kind}`;
  }

  /** Starts workers for the pod's running containers; stops those of containers that changed. */
  sync(pod: Pod, running: Map<string, { id: string; startedAt: string }>, target: (c: Container) => ProbeTarget): void {
    const uid = pod.metadata!.uid;
    for (const c of pod.spec?.containers ?? []) {
      const rc = running.get(c.name);
      const probes: Array<[ProbeKind, Probe | undefined]> = [
        ["startup", c.startupProbe],
        ["liveness", c.livenessProbe],
        ["readiness", c.readinessProbe],
      ];
      for (const [kind, probe] of probes) {
        const key = this.key(uid, c.name, kind);
        const w = this.workers.get(key);
        if (w && (!rc || w.containerId !== rc.id)) this.stopWorker(key);
        if (!probe || !rc || this.workers.has(key)) continue;
        this.startWorker(key, pod, c, kind, probe, rc, target(c));
      }
    }
  }

  /** Stops every worker of a pod (it is gone or terminating). */
  removePod(podUid: string): void {
    for (const key of [...this.workers.keys()]) if (key.startsWith(`${podUid}/`)) this.stopWorker(key);
  }

  private result(podUid: string, container: string, kind: ProbeKind, containerId: string): boolean | undefined {
    const w = this.workers.get(this.key(podUid, container, kind));
    return w && w.containerId === containerId ? w.result : undefined;
  }

  /** Whether the startup probe has passed (true when there is none). */
  started(pod: Pod, c: Container, containerId: string): boolean {
    if (!c.startupProbe) return true;
    return this.result(pod.metadata!.uid, c.name, "startup", containerId) === true;
  }

  ready(pod: Pod, c: Container, containerId: string): boolean {
    if (!this.started(pod, c, containerId)) return false;
    if (!c.readinessProbe) return true;
    return this.result(pod.metadata!.uid, c.name, "readiness", containerId) === true;
  }

  /** The probe that says the container must be restarted, if one does. */
  mustRestart(pod: Pod, c: Container, containerId: string): ProbeKind | undefined {
    const uid = pod.metadata!.uid;
    if (c.startupProbe && this.result(uid, c.name, "startup", containerId) === false) return "startup";
    if (c.livenessProbe && this.result(uid, c.name, "liveness", containerId) === false) return "liveness";
    return undefined;
  }

  private startWorker(
    key: string,
    pod: Pod,
    c: Container,
    kind: ProbeKind,
    probe: Probe,
    rc: { id: string; startedAt: string },
    target: ProbeTarget,
  ) {
    const uid = pod.metadata!.uid;
    const w: Worker = {
      kind,
      containerId: rc.id,
      timer: undefined,
      stopped: false,
      successes: 0,
      failures: 0,
      result: kind === "liveness" ? true : undefined,
    };
    this.workers.set(key, w);
    const period = (probe.periodSeconds || 10) * 1000;
    const successThreshold = probe.successThreshold || 1;
    const failureThreshold = probe.failureThreshold || 3;
    const startedMs = Date.parse(rc.startedAt) || Date.now();
    const initialDelay = Math.max(0, startedMs + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now());

    const tick = async () => {
      if (w.stopped) return;
      // Liveness and readiness wait for the startup probe; a passed startup probe stops probing.
      const gated = kind !== "startup" && !this.started(pod, c, rc.id);
      const done = kind === "startup" && w.result === true;
      if (!gated && !done) {
        const outcome = await runProbe(probe, target);
        if (w.stopped) return;
        const before = w.result;
        if (outcome.ok) {
          w.failures = 0;
          if (++w.successes >= successThreshold) w.result = true;
        } else {
          w.successes = 0;
          this.listener.onFailure(pod, c, kind, outcome);
          if (++w.failures >= failureThreshold) w.result = false;
        }
        if (w.result !== before) this.listener.onChange(uid);
        // A failed liveness or startup probe ends this container; its successor gets a new worker.
        if (w.result === false && kind !== "readiness") return;
      }
      w.timer = setTimeout(tick, period);
    };
    w.timer = setTimeout(tick, initialDelay);
  }

  private stopWorker(key: string) {
    const w = this.workers.get(key);
    if (!w) return;
    w.stopped = true;
    clearTimeout(w.timer);
    this.workers.delete(key);
  }
}

export function probeFailureMessage(kind: ProbeKind, outcome: ProbeOutcome): string {
  return `${PROBE_TITLE[kind]} probe failed: ${outcome.message}`;
}
