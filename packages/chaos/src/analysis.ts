// Per fault: how long the cluster took to notice and to recover, and what the probe's users felt
// meanwhile (success ratios, longest gaps). Pure, tested beside.
import type { HttpRecord, WriteRecord } from "./probe.js";
import type { DesiredStateSample, Reaction } from "./recorder.js";

/** A fault as the run injected it. */
export interface InjectedFault {
  step: string;
  action: string;
  /** As written: "leader:etcd". */
  targetText: string;
  /** The component it hit: "etcd-1" (the Deployment for rollout-restart). */
  component: string;
  /** Its kind: "etcd", "node", "scheduler"... */
  kind: string;
  detail: string;
  injectedMs: number;
  /** When it was undone, if it was. */
  undoneMs?: number;
  /** Whether the component held its role's leadership when hit (etcd, scheduler, controller-manager). */
  wasLeader?: boolean;
  /** An injection that failed: the error, and the fault counts as not injected. */
  error?: string;
}

export interface FlowStats {
  /** Requests (or writes) started in the window. */
  attempts: number;
  succeeded: number;
  /** succeeded / attempts, or undefined with no attempt. */
  ratio?: number;
  /** The longest time in the window with no success, ms. */
  longestGapMs: number;
}

export interface FaultMetrics {
  fault: InjectedFault;
  windowMs: [number, number];
  /** From injection to the cluster's first reaction to it, and what that was. */
  detectMs?: number;
  detectedBy?: string;
  /**
   * From injection until the desired state held and every probe succeeded again while the
   * fault was still in place (the cluster healed around it); undefined if it did not.
   */
  healedMs?: number;
  /** From injection until all was well again, the fault undone (and with the faults that followed). */
  recoverMs?: number;
  /** From the fault's undoing until all was well again. */
  afterUndoMs?: number;
  writes: FlowStats;
  httpHost: FlowStats;
  httpPod: FlowStats;
}

/**
 * The longest stretch of [fromMs, toMs] without a success: `successes` are the times successes
 * completed (any order); the window's start counts as one (a fault's window starts with the
 * probe flowing).
 */
export function longestGap(successes: number[], fromMs: number, toMs: number): number {
  const sorted = [...successes].sort((a, b) => a - b);
  let prev = fromMs;
  let longest = 0;
  for (const t of sorted) {
    if (t <= fromMs || t > toMs) continue;
    longest = Math.max(longest, t - prev);
    prev = t;
  }
  return Math.max(longest, toMs - prev);
}

/** Requests started in the window and how many succeeded; the longest stretch with no success ending. */
function flowStats<T>(
  records: T[],
  startOf: (r: T) => number,
  endOf: (r: T) => number,
  ok: (r: T) => boolean,
  fromMs: number,
  toMs: number,
): FlowStats {
  const started = records.filter((r) => startOf(r) >= fromMs && startOf(r) < toMs);
  const succeeded = started.filter(ok).length;
  return {
    attempts: started.length,
    succeeded,
    ratio: started.length ? succeeded / started.length : undefined,
    // No probe of this kind (none ran): no gap to report.
    longestGapMs: records.length ? longestGap(records.filter(ok).map(endOf), fromMs, toMs) : 0,
  };
}

export const writeStats = (records: WriteRecord[], fromMs: number, toMs: number): FlowStats =>
  flowStats(
    records,
    (r) => r.startMs,
    (r) => r.endMs,
    (r) => r.ok,
    fromMs,
    toMs,
  );

export const httpStats = (records: HttpRecord[], fromMs: number, toMs: number): FlowStats =>
  flowStats(
    records,
    (r) => r.startMs,
    (r) => r.startMs + r.latencyMs,
    (r) => r.ok,
    fromMs,
    toMs,
  );

/** The reaction that shows the cluster noticed this fault, if any is expected of it. */
export function detectionOf(f: InjectedFault, reactions: Reaction[]): Reaction | undefined {
  const after = reactions.filter((r) => r.atMs >= f.injectedMs);
  const hit = ["stop", "kill", "pause", "partition", "netem"].includes(f.action);
  if (!hit) return undefined;
  switch (f.kind) {
    case "etcd":
      return f.wasLeader
        ? after.find((r) => r.source === "etcd" && (r.what === "no leader" || (r.what === "leader" && r.subject !== f.component)))
        : after.find((r) => r.source === "etcd" && r.subject === f.component && r.what === "unreachable");
    case "scheduler":
    case "controller-manager":
      return f.wasLeader
        ? after.find(
            (r) =>
              r.source === "lease" &&
              r.subject === (f.kind === "scheduler" ? "kube-scheduler" : "kube-controller-manager") &&
              r.what === "acquired",
          )
        : undefined;
    case "node":
      return after.find((r) => r.source === "node" && r.subject === f.component && r.what.startsWith("Ready=") && r.what !== "Ready=True");
    default:
      return undefined;
  }
}

/**
 * When, after `fromMs`, everything was well again: the desired state holds (from the last time
 * it turned OK in the window) and each probe's last failure in the window is behind it.
 */
export function recoveryTime(
  fromMs: number,
  toMs: number,
  desired: DesiredStateSample[],
  writes: WriteRecord[],
  http: HttpRecord[],
): number | undefined {
  const states = [...desired.filter((s) => s.atMs <= fromMs).slice(-1), ...desired.filter((s) => s.atMs > fromMs && s.atMs <= toMs)];
  const final = states.at(-1);
  if (final && !final.ok) return undefined;
  const lastBad = [...states].reverse().find((s) => !s.ok);
  let at = fromMs;
  if (lastBad) at = Math.max(at, states.find((s) => s.atMs > lastBad.atMs && s.ok)!.atMs);
  const lastFailedWrite = writes.filter((w) => !w.ok && w.startMs >= fromMs && w.startMs < toMs).at(-1);
  if (lastFailedWrite) {
    const next = writes.find((w) => w.ok && w.endMs > lastFailedWrite.endMs);
    if (!next || next.endMs > toMs) return undefined;
    at = Math.max(at, next.endMs);
  }
  for (const from of ["host", "pod"] as const) {
    const mine = http.filter((r) => r.from === from);
    const lastFailed = mine.filter((r) => !r.ok && r.startMs >= fromMs && r.startMs < toMs).at(-1);
    if (!lastFailed) continue;
    const next = mine.find((r) => r.ok && r.startMs > lastFailed.startMs);
    if (!next || next.startMs + next.latencyMs > toMs) return undefined;
    at = Math.max(at, next.startMs + next.latencyMs);
  }
  return at - fromMs;
}

/** Each fault's metrics, its window running to the next fault's injection (or `endMs`). */
export function analyzeFaults(
  faults: InjectedFault[],
  endMs: number,
  data: { reactions: Reaction[]; desired: DesiredStateSample[]; writes: WriteRecord[]; http: HttpRecord[] },
): FaultMetrics[] {
  const injected = faults.filter((f) => !f.error).sort((a, b) => a.injectedMs - b.injectedMs);
  return injected.map((fault, i) => {
    const to = injected[i + 1]?.injectedMs ?? endMs;
    const detection = detectionOf(fault, data.reactions);
    return {
      fault,
      windowMs: [fault.injectedMs, to],
      detectMs: detection ? detection.atMs - fault.injectedMs : undefined,
      detectedBy: detection ? `${detection.subject} ${detection.what}` : undefined,
      healedMs:
        fault.undoneMs === undefined ? undefined : recoveryTime(fault.injectedMs, fault.undoneMs, data.desired, data.writes, data.http),
      // Recovery looks to the end of the run: faults close together are recovered from together.
      recoverMs: recoveryTime(fault.injectedMs, endMs, data.desired, data.writes, data.http),
      afterUndoMs: fault.undoneMs === undefined ? undefined : recoveryTime(fault.undoneMs, endMs, data.desired, data.writes, data.http),
      writes: writeStats(data.writes, fault.injectedMs, to),
      httpHost: httpStats(
        data.http.filter((r) => r.from === "host"),
        fault.injectedMs,
        to,
      ),
      httpPod: httpStats(
        data.http.filter((r) => r.from === "pod"),
        fault.injectedMs,
        to,
      ),
    };
  });
}
