// The promises a run checks at its end, each pass or fail with what broke it. Pure: the checks
// take what the probe and the recorder wrote down, so tests can feed them a lost write, a
// duplicated or reordered watch event, or two leaders at once, and see them fail.
import type { WatchRecord } from "./probe.js";
import type { DesiredStateSample, LeaderAction, LeaseObservation } from "./recorder.js";
import { holderHostname } from "./resolveTarget.js";

export interface InvariantResult {
  name: string;
  pass: boolean;
  /** One line: what was checked, and how much. */
  summary: string;
  /** What broke it (at most a few, then a count). */
  violations: string[];
}

const MAX_LISTED = 10;

function result(name: string, summary: string, violations: string[]): InvariantResult {
  const listed =
    violations.length > MAX_LISTED ? [...violations.slice(0, MAX_LISTED), `… and ${violations.length - MAX_LISTED} more`] : violations;
  return { name, pass: violations.length === 0, summary, violations: listed };
}

export interface AcknowledgedWrite {
  name: string;
  resourceVersion: string;
}

/** Every write the API acknowledged is in the final read. */
export function checkAcknowledgedReadable(acknowledged: AcknowledgedWrite[], finalNames: ReadonlySet<string>): InvariantResult {
  const lost = acknowledged.filter((w) => !finalNames.has(w.name));
  return result(
    "every acknowledged write is still readable",
    `${acknowledged.length} acknowledged writes, ${acknowledged.length - lost.length} read back`,
    lost.map((w) => `${w.name} (acknowledged at resourceVersion ${w.resourceVersion}) is gone`),
  );
}

/**
 * The watcher saw every acknowledged write exactly once, as ADDED at the resourceVersion the write
 * was acknowledged with, and its events came in increasing resourceVersion order; a write it
 * missed counts as seen only when an explicit relist (after OUT_OF_RANGE) at or after that
 * version held it.
 */
export function checkWatchExactlyOnce(acknowledged: AcknowledgedWrite[], records: WatchRecord[]): InvariantResult {
  const violations: string[] = [];
  const added = new Map<string, string[]>();
  let last = 0n;
  let lastWhat = "the start";
  let events = 0;
  let relists = 0;
  for (const r of records) {
    if (r.kind === "relist") {
      relists++;
      last = BigInt(r.resourceVersion || "0");
      lastWhat = `the list at ${r.resourceVersion}`;
      continue;
    }
    if (r.kind !== "event") continue;
    events++;
    const rv = BigInt(r.resourceVersion || "0");
    if (rv <= last) violations.push(`${r.type} ${r.name} at resourceVersion ${r.resourceVersion} came after ${lastWhat}: out of order`);
    last = rv > last ? rv : last;
    lastWhat = `${r.type} ${r.name} at ${r.resourceVersion}`;
    if (r.type === "ADDED") added.set(r.name, [...(added.get(r.name) ?? []), r.resourceVersion]);
  }
  // Lists after the first: relists, which may stand in for events a watcher could not get.
  const laterLists = records.filter((r): r is Extract<WatchRecord, { kind: "relist" }> => r.kind === "relist").slice(1);
  for (const w of acknowledged) {
    const seen = added.get(w.name) ?? [];
    if (seen.length > 1) violations.push(`${w.name} was delivered ${seen.length} times (at ${seen.join(", ")})`);
    else if (seen.length === 1 && seen[0] !== w.resourceVersion)
      violations.push(`${w.name} was delivered at resourceVersion ${seen[0]}, acknowledged at ${w.resourceVersion}`);
    else if (seen.length === 0) {
      const relisted = laterLists.some((l) => BigInt(l.resourceVersion) >= BigInt(w.resourceVersion) && l.names.includes(w.name));
      if (!relisted) violations.push(`${w.name} (acknowledged at resourceVersion ${w.resourceVersion}) was never delivered`);
    }
  }
  return result(
    "the watcher saw every acknowledged write exactly once, in resourceVersion order",
    `${events} events, ${relists - 1 > 0 ? `${relists - 1} relists after OUT_OF_RANGE` : "no relist"}`,
    violations,
  );
}

/** One holder's time with a Lease: from its acquireTime to its last renewal plus the duration, or to its release. */
export interface LeaseTerm {
  lease: string;
  holder: string;
  fromMs: number;
  toMs: number;
  released: boolean;
}

/** The terms in a Lease's observed history, in order. */
export function leaseTerms(observations: LeaseObservation[]): LeaseTerm[] {
  const terms: LeaseTerm[] = [];
  const byLease = new Map<string, LeaseObservation[]>();
  for (const o of observations) byLease.set(o.lease, [...(byLease.get(o.lease) ?? []), o]);
  for (const [lease, list] of byLease) {
    let current: LeaseTerm | undefined;
    for (const o of [...list].sort((a, b) => a.atMs - b.atMs)) {
      if (!o.holder) {
        // A release: the term ends when it was written.
        if (current) {
          current.toMs = Math.min(current.toMs, o.renewMs || o.atMs);
          current.released = true;
          terms.push(current);
          current = undefined;
        }
        continue;
      }
      if (current && current.holder === o.holder && current.fromMs === o.acquireMs) {
        current.toMs = Math.max(current.toMs, o.renewMs + o.durationS * 1000);
        continue;
      }
      if (current) terms.push(current);
      current = { lease, holder: o.holder, fromMs: o.acquireMs, toMs: o.renewMs + o.durationS * 1000, released: false };
    }
    if (current) terms.push(current);
  }
  return terms;
}

const fmt = (ms: number, t0: number) => `${((ms - t0) / 1000).toFixed(3)} s`;

/**
 * At most one acting leader per component at any instant: by the Lease (a new holder took it
 * only after the last one's term ran out or was released) and by what was done (every action a
 * copy recorded falls within one of its own terms, so no two copies acted in the same window).
 * `leaseOf` maps a component to its Lease's name.
 */
export function checkSingleLeader(
  observations: LeaseObservation[],
  actions: LeaderAction[],
  leaseOf: Record<string, string>,
  t0Ms = 0,
): InvariantResult {
  const violations: string[] = [];
  const terms = leaseTerms(observations);
  for (const lease of new Set(terms.map((t) => t.lease))) {
    const list = terms.filter((t) => t.lease === lease).sort((a, b) => a.fromMs - b.fromMs);
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (a.holder !== b.holder && b.fromMs < a.toMs)
        violations.push(
          `${lease}: ${b.holder} took it at ${fmt(b.fromMs, t0Ms)} while ${a.holder} held it until ${fmt(a.toMs, t0Ms)}${a.released ? " (released)" : ""}`,
        );
    }
  }
  for (const act of actions) {
    const lease = leaseOf[act.component];
    if (!lease) continue;
    const own = terms.filter((t) => t.lease === lease && act.instance.endsWith(`-${holderHostname(t.holder)}`));
    if (!own.some((t) => act.atMs >= t.fromMs && act.atMs <= t.toMs)) {
      const holder = terms.find((t) => t.lease === lease && act.atMs >= t.fromMs && act.atMs <= t.toMs);
      violations.push(
        `${act.instance} did "${act.what}" at ${fmt(act.atMs, t0Ms)} without holding ${lease}${holder ? ` (${holder.holder} held it)` : ""}`,
      );
    }
  }
  const holders = new Set(terms.map((t) => `${t.lease}/${t.holder}`)).size;
  return result(
    "at most one acting leader per component at any instant",
    `${terms.length} lease terms (${holders} holders), ${actions.length} leader actions checked`,
    violations,
  );
}

/** The desired state held again within `withinMs` of the last fault's undoing, and still held at the end. */
export function checkDesiredStateRestored(
  samples: DesiredStateSample[],
  lastUndoMs: number,
  withinMs: number,
  endMs: number,
): InvariantResult {
  const name = `the desired state is restored within ${withinMs / 1000} s after the last fault`;
  const before = samples.filter((s) => s.atMs <= lastUndoMs).at(-1);
  const after = samples.filter((s) => s.atMs > lastUndoMs && s.atMs <= endMs);
  const states = [...(before ? [before] : []), ...after];
  const firstOk = states.find((s) => s.ok);
  const final = states.at(-1);
  if (!final?.ok || !firstOk) {
    return result(name, "not restored", [`still wrong at the end: ${(final?.problems ?? ["no sample"]).join("; ")}`]);
  }
  // The last time it became OK (it may have wavered after first recovering).
  const lastBad = [...states].reverse().find((s) => !s.ok);
  const restoredAt = lastBad ? (states.find((s) => s.atMs > lastBad.atMs && s.ok)?.atMs ?? endMs) : Math.max(firstOk.atMs, lastUndoMs);
  const took = Math.max(0, restoredAt - lastUndoMs);
  return result(
    name,
    `restored ${(took / 1000).toFixed(1)} s after the last fault was undone`,
    took > withinMs ? [`took ${(took / 1000).toFixed(1)} s`] : [],
  );
}
