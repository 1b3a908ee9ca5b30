import { describe, expect, it } from "vitest";
import {
  type AcknowledgedWrite,
  checkAcknowledgedReadable,
  checkDesiredStateRestored,
  checkSingleLeader,
  checkWatchExactlyOnce,
  leaseTerms,
} from "./invariants.js";
import type { WatchRecord } from "./probe.js";
import type { DesiredStateSample, LeaderAction, LeaseObservation } from "./recorder.js";

const ack = (name: string, rv: number): AcknowledgedWrite => ({ name, resourceVersion: String(rv) });
const list = (rv: number, names: string[] = []): WatchRecord => ({ kind: "relist", atMs: 0, resourceVersion: String(rv), names });
const event = (type: string, name: string, rv: number): WatchRecord => ({
  kind: "event",
  atMs: 0,
  type,
  name,
  resourceVersion: String(rv),
});
const added = (name: string, rv: number) => event("ADDED", name, rv);
const resume = (rv: number): WatchRecord => ({ kind: "resume", atMs: 0, resourceVersion: String(rv), error: "14 UNAVAILABLE" });

describe("checkAcknowledgedReadable", () => {
  it("passes when every acknowledged write is read back", () => {
    const r = checkAcknowledgedReadable([ack("w-0", 5), ack("w-1", 6)], new Set(["w-0", "w-1", "unrelated"]));
    expect(r).toMatchObject({ pass: true, violations: [], summary: "2 acknowledged writes, 2 read back" });
  });

  it("fails on an acknowledged write that is gone, naming it and its resourceVersion", () => {
    const r = checkAcknowledgedReadable([ack("w-0", 5), ack("w-1", 6)], new Set(["w-0"]));
    expect(r).toMatchObject({
      pass: false,
      violations: ["w-1 (acknowledged at resourceVersion 6) is gone"],
      summary: "2 acknowledged writes, 1 read back",
    });
  });

  it("lists ten lost writes and counts the rest", () => {
    const lost = Array.from({ length: 13 }, (_, i) => ack(`w-${i}`, i + 1));
    const r = checkAcknowledgedReadable(lost, new Set());
    expect(r.pass).toBe(false);
    expect(r.violations).toHaveLength(11);
    expect(r.violations[0]).toBe("w-0 (acknowledged at resourceVersion 1) is gone");
    expect(r.violations[10]).toBe("… and 3 more");
  });
});

describe("checkWatchExactlyOnce", () => {
  const cases: Array<{ name: string; acknowledged: AcknowledgedWrite[]; records: WatchRecord[]; want: string[] }> = [
    {
      name: "passes when each write comes once, as ADDED at its acknowledged version, in order",
      acknowledged: [ack("a", 5), ack("b", 6), ack("c", 9)],
      records: [list(4), added("a", 5), added("b", 6), added("c", 9)],
      want: [],
    },
    {
      name: "passes across a broken stream resumed from the last version",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5), resume(5), added("b", 6)],
      want: [],
    },
    {
      name: "passes with other events for the writes after their ADDED",
      acknowledged: [ack("a", 5)],
      records: [list(4), added("a", 5), event("MODIFIED", "a", 7), event("DELETED", "a", 8)],
      want: [],
    },
    {
      name: "ignores an ADDED for a write that was never acknowledged",
      acknowledged: [ack("a", 5)],
      records: [list(4), added("a", 5), added("failed-but-committed", 6)],
      want: [],
    },
    {
      name: "fails on a write delivered twice",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5), added("b", 6), added("a", 7)],
      want: ["a was delivered 2 times (at 5, 7)"],
    },
    {
      name: "fails on an event replayed at the same version: a duplicate, and out of order",
      acknowledged: [ack("a", 5)],
      records: [list(4), added("a", 5), resume(4), added("a", 5)],
      want: ["ADDED a at resourceVersion 5 came after ADDED a at 5: out of order", "a was delivered 2 times (at 5, 5)"],
    },
    {
      name: "fails on an event at a lower version after a higher one",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("b", 6), added("a", 5)],
      want: ["ADDED a at resourceVersion 5 came after ADDED b at 6: out of order"],
    },
    {
      name: "fails on an event at the same version as the one before",
      acknowledged: [ack("a", 5)],
      records: [list(4), added("a", 5), event("MODIFIED", "a", 5)],
      want: ["MODIFIED a at resourceVersion 5 came after ADDED a at 5: out of order"],
    },
    {
      name: "fails on an event at or below the version of the list it followed",
      acknowledged: [ack("a", 5)],
      records: [list(5), added("a", 5)],
      want: ["ADDED a at resourceVersion 5 came after the list at 5: out of order"],
    },
    {
      name: "compares versions as numbers, not as text",
      acknowledged: [ack("a", 9), ack("b", 10)],
      records: [list(8), added("a", 9), added("b", 10)],
      want: [],
    },
    {
      name: "fails on an ADDED at another version than the write was acknowledged at",
      acknowledged: [ack("a", 5)],
      records: [list(4), added("a", 9)],
      want: ["a was delivered at resourceVersion 9, acknowledged at 5"],
    },
    {
      name: "fails on a write never delivered",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5)],
      want: ["b (acknowledged at resourceVersion 6) was never delivered"],
    },
    {
      name: "passes a write the watch missed when a later relist at its version held it",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5), resume(5), list(6, ["a", "b"])],
      want: [],
    },
    {
      name: "passes a write the watch missed when a later relist past its version held it",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5), resume(5), list(20, ["a", "b"]), added("c", 21)],
      want: [],
    },
    {
      name: "fails a missed write when the only later relist is older than it",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5), resume(5), list(5, ["a", "b"])],
      want: ["b (acknowledged at resourceVersion 6) was never delivered"],
    },
    {
      name: "fails a missed write when the later relist did not hold it",
      acknowledged: [ack("a", 5), ack("b", 6)],
      records: [list(4), added("a", 5), resume(5), list(20, ["a"])],
      want: ["b (acknowledged at resourceVersion 6) was never delivered"],
    },
    {
      name: "does not count the first list as a relist that stands in for events",
      acknowledged: [ack("a", 5)],
      records: [list(5, ["a"])],
      want: ["a (acknowledged at resourceVersion 5) was never delivered"],
    },
  ];
  it.each(cases)("$name", ({ acknowledged, records, want }) => {
    const r = checkWatchExactlyOnce(acknowledged, records);
    expect(r.violations).toEqual(want);
    expect(r.pass).toBe(want.length === 0);
  });

  it("counts events and relists after the first list in its summary", () => {
    expect(checkWatchExactlyOnce([], [list(1), added("a", 2)]).summary).toBe("1 events, no relist");
    expect(checkWatchExactlyOnce([], [list(1), added("a", 2), list(5), list(9)]).summary).toBe("1 events, 2 relists after OUT_OF_RANGE");
  });
});

const SCHED = "kube-scheduler";

/** One observed version of a Lease; times in ms, `acquireMs` defaulting to `renewMs`. */
function obs(holder: string, renewMs: number, over: Partial<LeaseObservation> = {}): LeaseObservation {
  return { atMs: renewMs, lease: SCHED, holder, acquireMs: renewMs, renewMs, durationS: 8, transitions: 0, ...over };
}

/** A's renewals of one term acquired at 0, at each of `renewals`. */
const termOfA = (...renewals: number[]) => renewals.map((r) => obs("a_1", r, { acquireMs: 0 }));

describe("leaseTerms", () => {
  it("merges the renewals of one term: from its acquireTime to its last renewal plus the duration", () => {
    expect(leaseTerms(termOfA(0, 2000, 4000))).toEqual([{ lease: SCHED, holder: "a_1", fromMs: 0, toMs: 12_000, released: false }]);
  });

  it("orders observations by when they were made", () => {
    expect(leaseTerms(termOfA(4000, 0, 2000))).toEqual([{ lease: SCHED, holder: "a_1", fromMs: 0, toMs: 12_000, released: false }]);
  });

  it("starts a new term when the holder changes", () => {
    expect(leaseTerms([...termOfA(0, 2000), obs("b_2", 11_000), obs("b_2", 13_000, { acquireMs: 11_000 })])).toEqual([
      { lease: SCHED, holder: "a_1", fromMs: 0, toMs: 10_000, released: false },
      { lease: SCHED, holder: "b_2", fromMs: 11_000, toMs: 21_000, released: false },
    ]);
  });

  it("starts a new term when the same holder acquires again", () => {
    expect(leaseTerms([...termOfA(0, 2000), obs("a_1", 20_000)])).toEqual([
      { lease: SCHED, holder: "a_1", fromMs: 0, toMs: 10_000, released: false },
      { lease: SCHED, holder: "a_1", fromMs: 20_000, toMs: 28_000, released: false },
    ]);
  });

  it("ends a term at its release", () => {
    const release = obs("", 3000, { durationS: 1 });
    expect(leaseTerms([...termOfA(0, 2000), release])).toEqual([{ lease: SCHED, holder: "a_1", fromMs: 0, toMs: 3000, released: true }]);
  });

  it("ends a released term when the release was observed if it carries no renewTime", () => {
    const release = obs("", 0, { atMs: 2500, acquireMs: 0, durationS: 0 });
    expect(leaseTerms([...termOfA(0, 2000), release])).toEqual([{ lease: SCHED, holder: "a_1", fromMs: 0, toMs: 2500, released: true }]);
  });

  it("keeps each Lease's terms apart", () => {
    const cm = obs("c_3", 1000, { lease: "kube-controller-manager" });
    expect(leaseTerms([...termOfA(0), cm, obs("a_1", 2000, { acquireMs: 0 })])).toEqual([
      { lease: SCHED, holder: "a_1", fromMs: 0, toMs: 10_000, released: false },
      { lease: "kube-controller-manager", holder: "c_3", fromMs: 1000, toMs: 9000, released: false },
    ]);
  });
});

describe("checkSingleLeader", () => {
  const leaseOf = { scheduler: SCHED, "controller-manager": "kube-controller-manager" };
  const act = (instance: string, atMs: number, component = "scheduler"): LeaderAction => ({
    atMs,
    component,
    instance,
    what: "Scheduled web-1",
  });
  const check = (observations: LeaseObservation[], actions: LeaderAction[] = [], t0 = 0) =>
    checkSingleLeader(observations, actions, leaseOf, t0);

  it("fails when a second holder acquires while the first one's term has not run out", () => {
    // a_1 last renewed at 2 s with an 8 s lease: its term runs to 10 s; b_2 takes it at 5 s.
    const r = check([...termOfA(0, 2000), obs("b_2", 5000)]);
    expect(r.pass).toBe(false);
    expect(r.violations).toEqual(["kube-scheduler: b_2 took it at 5.000 s while a_1 held it until 10.000 s"]);
  });

  it("passes when the second holder acquires once the first one's term has run out", () => {
    expect(check([...termOfA(0, 2000), obs("b_2", 10_000)]).violations).toEqual([]);
    expect(check([...termOfA(0, 2000), obs("b_2", 10_500)]).pass).toBe(true);
  });

  it("passes when the first holder released and the second acquires after the release, before the term would have run out", () => {
    const r = check([...termOfA(0, 2000), obs("", 3000, { durationS: 1 }), obs("b_2", 3500)]);
    expect(r.violations).toEqual([]);
    expect(r.pass).toBe(true);
  });

  it("fails when the second holder acquires before the first one's release", () => {
    // Observed in this order: b's acquireTime (2.5 s) is before a's release was written (3 s).
    const r = check([...termOfA(0, 2000), obs("", 3000, { durationS: 1 }), obs("b_2", 2500, { atMs: 3500 })]);
    expect(r.violations).toEqual(["kube-scheduler: b_2 took it at 2.500 s while a_1 held it until 3.000 s (released)"]);
  });

  it("does not count the same holder acquiring again as a second leader", () => {
    expect(check([...termOfA(0, 2000), obs("a_1", 5000)]).pass).toBe(true);
  });

  it("reports times from t0", () => {
    const r = check([...termOfA(0, 2000), obs("b_2", 5000)], [], 1000);
    expect(r.violations).toEqual(["kube-scheduler: b_2 took it at 4.000 s while a_1 held it until 9.000 s"]);
  });

  const history = [...termOfA(0, 2000), obs("b_2", 11_000), obs("b_2", 13_000, { acquireMs: 11_000 })];
  const actions: Array<{ name: string; action: LeaderAction; want: string[] }> = [
    { name: "passes an action inside its own holder's term", action: act("default-scheduler-a", 4000), want: [] },
    { name: "passes an action at the very end of its holder's term", action: act("default-scheduler-a", 10_000), want: [] },
    { name: "passes an action inside the next holder's term by that holder", action: act("default-scheduler-b", 15_000), want: [] },
    {
      name: "fails an action after its holder's term, while another holder held the Lease",
      action: act("default-scheduler-a", 12_000),
      want: ['default-scheduler-a did "Scheduled web-1" at 12.000 s without holding kube-scheduler (b_2 held it)'],
    },
    {
      name: "fails an action before its holder acquired the Lease",
      action: act("default-scheduler-b", 5000),
      want: ['default-scheduler-b did "Scheduled web-1" at 5.000 s without holding kube-scheduler (a_1 held it)'],
    },
    {
      name: "fails an action when nobody held the Lease",
      action: act("default-scheduler-a", 10_500),
      want: ['default-scheduler-a did "Scheduled web-1" at 10.500 s without holding kube-scheduler'],
    },
    {
      name: "fails an action by a copy that never held the Lease",
      action: act("default-scheduler-c", 4000),
      want: ['default-scheduler-c did "Scheduled web-1" at 4.000 s without holding kube-scheduler (a_1 held it)'],
    },
    {
      name: "ignores an action by a component that elects no leader",
      action: act("kubelet-a", 12_000, "kubelet"),
      want: [],
    },
    {
      name: "checks an action against its own component's Lease only",
      action: act("controller-manager-a", 4000, "controller-manager"),
      want: ['controller-manager-a did "Scheduled web-1" at 4.000 s without holding kube-controller-manager'],
    },
  ];
  it.each(actions)("$name", ({ action, want }) => {
    const r = check(history, [action]);
    expect(r.violations).toEqual(want);
    expect(r.pass).toBe(want.length === 0);
  });

  it("fails an action after its holder released the Lease", () => {
    const r = check([...termOfA(0, 2000), obs("", 3000, { durationS: 1 })], [act("default-scheduler-a", 3500)]);
    expect(r.violations).toEqual(['default-scheduler-a did "Scheduled web-1" at 3.500 s without holding kube-scheduler']);
  });

  it("matches the holder's whole hostname, not one that merely ends or starts the same way", () => {
    expect(check([obs("a_1", 0)], [act("default-scheduler-xa", 1000)]).pass).toBe(false);
    expect(check([obs("node-11_x", 0)], [act("default-scheduler-node-1", 1000)]).pass).toBe(false);
    expect(check([obs("a_1", 0)], [act("default-scheduler-a", 1000)]).pass).toBe(true);
  });

  it("summarises terms, holders and actions", () => {
    expect(check(history, [act("default-scheduler-a", 4000)]).summary).toBe("2 lease terms (2 holders), 1 leader actions checked");
  });
});

describe("checkDesiredStateRestored", () => {
  const ok = (atMs: number): DesiredStateSample => ({ atMs, ok: true, problems: [] });
  const bad = (atMs: number, problem = "node node-2: Ready=Unknown"): DesiredStateSample => ({ atMs, ok: false, problems: [problem] });
  // The last fault is undone at 10 s; 30 s to recover; the run ends at 60 s.
  const check = (samples: DesiredStateSample[]) => checkDesiredStateRestored(samples, 10_000, 30_000, 60_000);

  const cases: Array<{ name: string; samples: DesiredStateSample[]; pass: boolean; summary: string; violations: string[] }> = [
    {
      name: "passes when it holds again within the limit",
      samples: [ok(0), bad(5000), ok(25_000)],
      pass: true,
      summary: "restored 15.0 s after the last fault was undone",
      violations: [],
    },
    {
      name: "passes at exactly the limit",
      samples: [bad(5000), ok(40_000)],
      pass: true,
      summary: "restored 30.0 s after the last fault was undone",
      violations: [],
    },
    {
      name: "passes, at once, when it held throughout",
      samples: [ok(0), ok(20_000)],
      pass: true,
      summary: "restored 0.0 s after the last fault was undone",
      violations: [],
    },
    {
      name: "passes, at once, when it held again before the fault was undone",
      samples: [bad(2000), ok(8000)],
      pass: true,
      summary: "restored 0.0 s after the last fault was undone",
      violations: [],
    },
    {
      name: "fails when it took longer than the limit",
      samples: [bad(5000), ok(45_000)],
      pass: false,
      summary: "restored 35.0 s after the last fault was undone",
      violations: ["took 35.0 s"],
    },
    {
      name: "counts from the last time it turned OK, when it wavered",
      samples: [bad(5000), ok(12_000), bad(20_000), ok(50_000)],
      pass: false,
      summary: "restored 40.0 s after the last fault was undone",
      violations: ["took 40.0 s"],
    },
    {
      name: "fails when it is still wrong at the end",
      samples: [ok(0), bad(5000), ok(20_000), bad(30_000, "deployment chaos-probe/chaos-web: 2/3 ready")],
      pass: false,
      summary: "not restored",
      violations: ["still wrong at the end: deployment chaos-probe/chaos-web: 2/3 ready"],
    },
    {
      name: "does not count a recovery after the run's end",
      samples: [bad(5000), ok(70_000)],
      pass: false,
      summary: "not restored",
      violations: ["still wrong at the end: node node-2: Ready=Unknown"],
    },
    {
      name: "fails when there is no sample at all",
      samples: [],
      pass: false,
      summary: "not restored",
      violations: ["still wrong at the end: no sample"],
    },
  ];
  it.each(cases)("$name", ({ samples, pass, summary, violations }) => {
    const r = check(samples);
    expect(r).toMatchObject({ pass, summary, violations });
    expect(r.name).toBe("the desired state is restored within 30 s after the last fault");
  });
});
