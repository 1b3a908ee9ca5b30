import { describe, expect, it } from "vitest";
import { analyzeFaults, detectionOf, httpStats, type InjectedFault, longestGap, recoveryTime, writeStats } from "./analysis.js";
import type { HttpRecord, WriteRecord } from "./probe.js";
import type { DesiredStateSample, Reaction, ReactionSource } from "./recorder.js";

describe("longestGap", () => {
  // The window is [1 s, 11 s].
  const cases: Array<{ name: string; successes: number[]; want: number }> = [
    { name: "is the whole window with no success at all", successes: [], want: 10_000 },
    { name: "is the whole window with successes only before it", successes: [200, 900], want: 10_000 },
    { name: "is the whole window with successes only after it", successes: [11_001, 15_000], want: 10_000 },
    { name: "counts a success at the window's start as before it", successes: [1000], want: 10_000 },
    { name: "runs from the window's start to the first success inside", successes: [7000, 8000, 9000, 10_000, 11_000], want: 6000 },
    { name: "is the longest stretch between two successes inside", successes: [500, 2000, 3000, 8000, 9000, 10_500], want: 5000 },
    { name: "runs from the last success inside to the window's end", successes: [1500, 2000, 4000], want: 7000 },
    { name: "counts a success at the window's end as inside it", successes: [6000, 11_000], want: 5000 },
    { name: "takes the successes in any order", successes: [9000, 3000, 8000, 2000, 10_500], want: 5000 },
  ];
  it.each(cases)("$name", ({ successes, want }) => {
    expect(longestGap(successes, 1000, 11_000)).toBe(want);
  });

  it("is small when successes come steadily", () => {
    const steady = Array.from({ length: 200 }, (_, i) => i * 100);
    expect(longestGap(steady, 1000, 11_000)).toBe(100);
  });
});

const write = (startMs: number, endMs: number, ok: boolean): WriteRecord => ({
  name: `w-${startMs}`,
  startMs,
  endMs,
  ok,
  ...(ok ? { resourceVersion: String(startMs) } : { error: "14 UNAVAILABLE" }),
});

const call = (startMs: number, ok: boolean, latencyMs = 10, from: HttpRecord["from"] = "host"): HttpRecord => ({
  from,
  startMs,
  latencyMs,
  ok,
  detail: ok ? "200" : "ECONNREFUSED",
});

describe("writeStats", () => {
  it("counts the writes started in the window and the share that succeeded", () => {
    const writes = [
      write(500, 1200, true),
      write(1000, 1100, true),
      write(2000, 2100, false),
      write(3000, 3100, true),
      write(4000, 4100, false),
      write(5000, 5100, true),
    ];
    expect(writeStats(writes, 1000, 5000)).toEqual({ attempts: 4, succeeded: 2, ratio: 0.5, longestGapMs: 1900 });
  });

  it("has no ratio without an attempt in the window, and the whole window as its gap when nothing was answered in it", () => {
    expect(writeStats([write(0, 500, true), write(5000, 5100, true)], 1000, 5000)).toEqual({
      attempts: 0,
      succeeded: 0,
      ratio: undefined,
      longestGapMs: 4000,
    });
  });

  // A scenario with probe.writesPerSecond: 0 runs no writer: no gap to report, as for HTTP.
  it("has no gap without any write at all (no writer), as httpStats has none without a request", () => {
    expect(writeStats([], 1000, 5000).longestGapMs).toBe(httpStats([], 1000, 5000).longestGapMs);
  });

  it("takes a write's end as its success: one started before the window ends a gap inside it", () => {
    // Started before the window, so not an attempt in it; answered at 4 s, inside it.
    const stats = writeStats([write(0, 4000, true)], 1000, 5000);
    expect(stats).toMatchObject({ attempts: 0, longestGapMs: 3000 });
  });

  it("does not count a failed write as a success for the gap", () => {
    expect(writeStats([write(1000, 1500, false), write(2000, 2500, false)], 1000, 5000)).toEqual({
      attempts: 2,
      succeeded: 0,
      ratio: 0,
      longestGapMs: 4000,
    });
  });
});

describe("httpStats", () => {
  it("counts the requests started in the window and the share that succeeded, a success at its answer", () => {
    const calls = [call(900, true, 50), call(1000, true, 100), call(2000, false, 2000), call(4000, true, 500), call(5000, true)];
    expect(httpStats(calls, 1000, 5000)).toEqual({ attempts: 3, succeeded: 2, ratio: 2 / 3, longestGapMs: 3400 });
  });

  it("has no ratio and no gap without any request at all (no HTTP probe)", () => {
    expect(httpStats([], 1000, 5000)).toEqual({ attempts: 0, succeeded: 0, ratio: undefined, longestGapMs: 0 });
  });

  it("has the whole window as its gap when every request failed", () => {
    expect(httpStats([call(1000, false), call(3000, false)], 1000, 5000)).toEqual({
      attempts: 2,
      succeeded: 0,
      ratio: 0,
      longestGapMs: 4000,
    });
  });
});

const fault = (kind: string, over: Partial<InjectedFault> = {}): InjectedFault => ({
  step: "s",
  action: "kill",
  targetText: kind,
  component: `${kind}-1`,
  kind,
  detail: "",
  injectedMs: 1000,
  ...over,
});

const reaction = (atMs: number, source: ReactionSource, subject: string, what: string): Reaction => ({ atMs, source, subject, what });

describe("detectionOf", () => {
  const reactions: Reaction[] = [
    reaction(500, "etcd", "etcd-2", "leader"),
    reaction(500, "node", "node-1", "Ready=Unknown"),
    reaction(500, "lease", "kube-scheduler", "acquired"),
    reaction(1200, "container", "etcd-1", "die"),
    reaction(1500, "etcd", "etcd-2", "unreachable"),
    reaction(1600, "etcd", "etcd-1", "unreachable"),
    reaction(1700, "etcd", "etcd-1", "leader"),
    reaction(1800, "lease", "kube-scheduler", "released"),
    reaction(1900, "lease", "kube-controller-manager", "acquired"),
    reaction(2000, "node", "node-2", "Ready=Unknown"),
    reaction(2100, "node", "node-1", "tainted"),
    reaction(2500, "etcd", "etcd-3", "leader"),
    reaction(3000, "lease", "kube-scheduler", "acquired"),
    reaction(3500, "node", "node-1", "Ready=True"),
    reaction(4000, "node", "node-1", "Ready=False"),
    reaction(4500, "etcd", "etcd-1", "no leader"),
  ];

  const cases: Array<{ name: string; fault: InjectedFault; want?: [number, string] }> = [
    {
      name: "etcd's leader: another member becoming leader, not the old one re-elected or a member unreachable",
      fault: fault("etcd", { wasLeader: true }),
      want: [2500, "etcd-3 leader"],
    },
    {
      name: "etcd's leader: the cluster having no leader",
      fault: fault("etcd", { wasLeader: true, injectedMs: 4000 }),
      want: [4500, "etcd-1 no leader"],
    },
    {
      name: "an etcd member that is not the leader: that member unreachable",
      fault: fault("etcd", { wasLeader: false }),
      want: [1600, "etcd-1 unreachable"],
    },
    {
      name: "the scheduler's leader: its Lease acquired (after the fault), not released",
      fault: fault("scheduler", { wasLeader: true }),
      want: [3000, "kube-scheduler acquired"],
    },
    {
      name: "the controller-manager's leader: its own Lease acquired",
      fault: fault("controller-manager", { wasLeader: true }),
      want: [1900, "kube-controller-manager acquired"],
    },
    { name: "a scheduler that is not the leader: nothing", fault: fault("scheduler", { wasLeader: false }) },
    {
      name: "a node: its Ready turning other than True",
      fault: fault("node", { component: "node-1" }),
      want: [4000, "node-1 Ready=False"],
    },
    {
      name: "a node partitioned: the same",
      fault: fault("node", { component: "node-2", action: "partition" }),
      want: [2000, "node-2 Ready=Unknown"],
    },
    { name: "an API server: nothing", fault: fault("apiserver", { action: "stop" }) },
    { name: "a restart: nothing", fault: fault("etcd", { action: "restart", wasLeader: true }) },
    { name: "a start: nothing", fault: fault("node", { action: "start", component: "node-2" }) },
    { name: "a rollout-restart: nothing", fault: fault("deployment", { action: "rollout-restart" }) },
  ];
  it.each(cases)("detects $name", ({ fault: f, want }) => {
    const r = detectionOf(f, reactions);
    expect(r && [r.atMs, `${r.subject} ${r.what}`]).toEqual(want);
  });

  it.each(["stop", "kill", "pause", "partition", "netem"])("looks for a detection of %s", (action) => {
    expect(detectionOf(fault("etcd", { action, wasLeader: false }), reactions)?.atMs).toBe(1600);
  });
});

describe("recoveryTime", () => {
  const ok = (atMs: number): DesiredStateSample => ({ atMs, ok: true, problems: [] });
  const bad = (atMs: number): DesiredStateSample => ({ atMs, ok: false, problems: ["node node-2: Ready=Unknown"] });
  // The window is [10 s, 60 s].
  const recovery = (desired: DesiredStateSample[], writes: WriteRecord[] = [], http: HttpRecord[] = []) =>
    recoveryTime(10_000, 60_000, desired, writes, http);

  const cases: Array<{
    name: string;
    desired: DesiredStateSample[];
    writes?: WriteRecord[];
    http?: HttpRecord[];
    want: number | undefined;
  }> = [
    { name: "is 0 when all was well throughout", desired: [ok(0), ok(20_000)], want: 0 },
    { name: "is when the desired state turned OK", desired: [ok(0), bad(12_000), ok(20_000)], want: 10_000 },
    { name: "counts from the window's start when it was already wrong before", desired: [bad(5000), ok(25_000)], want: 15_000 },
    {
      name: "is the desired state's last turn to OK when it wavered",
      desired: [bad(12_000), ok(15_000), bad(30_000), ok(40_000)],
      want: 30_000,
    },
    {
      name: "is undefined when the desired state is still wrong at the window's end",
      desired: [ok(0), bad(12_000), ok(20_000), bad(50_000)],
      want: undefined,
    },
    { name: "does not see a recovery after the window's end", desired: [bad(12_000), ok(61_000)], want: undefined },
    {
      name: "is the first write answered after the last failed write",
      desired: [ok(0)],
      writes: [write(11_000, 11_500, false), write(14_000, 16_000, false), write(15_000, 17_000, true), write(18_000, 18_100, true)],
      want: 7000,
    },
    {
      name: "is undefined when no write succeeded after the last failure",
      desired: [ok(0)],
      writes: [write(11_000, 11_500, true), write(14_000, 16_000, false)],
      want: undefined,
    },
    {
      name: "is undefined when the first write to succeed after the last failure was answered after the window",
      desired: [ok(0)],
      writes: [write(14_000, 16_000, false), write(59_000, 61_000, true)],
      want: undefined,
    },
    {
      name: "ignores a write that failed before the window",
      desired: [ok(0)],
      writes: [write(5000, 5500, false), write(6000, 6100, true)],
      want: 0,
    },
    {
      name: "is the first HTTP answer after the last failed request",
      desired: [ok(0)],
      http: [call(12_000, false), call(20_000, false, 2000), call(22_100, true, 50), call(23_000, true)],
      want: 12_150,
    },
    {
      name: "is undefined when one source of HTTP requests never succeeded again, though the other did",
      desired: [ok(0)],
      http: [call(12_000, false, 10, "host"), call(13_000, true, 10, "host"), call(14_000, false, 10, "pod")],
      want: undefined,
    },
    {
      name: "does not let one source's success stand for another's",
      desired: [ok(0)],
      http: [call(14_000, false, 10, "pod"), call(15_000, true, 10, "host")],
      want: undefined,
    },
    {
      name: "is the latest of the desired state's recovery and each probe's",
      desired: [bad(5000), ok(20_000)],
      writes: [write(11_000, 11_500, false), write(30_000, 30_100, true)],
      http: [
        call(12_000, false, 10, "host"),
        call(25_000, true, 10, "host"),
        call(13_000, false, 10, "pod"),
        call(14_000, true, 10, "pod"),
      ],
      want: 20_100,
    },
    {
      name: "goes by the probes alone when there is no desired-state sample",
      desired: [],
      writes: [write(11_000, 11_500, false), write(12_000, 12_500, true)],
      want: 2500,
    },
  ];
  it.each(cases)("$name", ({ desired, writes, http, want }) => {
    expect(recovery(desired, writes, http)).toBe(want);
  });
});

describe("analyzeFaults", () => {
  it("runs each fault's window to the next fault's injection, and leaves out a fault that failed to inject", () => {
    const faults = [
      fault("node", { step: "b", component: "node-2", injectedMs: 20_000, undoneMs: 30_000 }),
      fault("etcd", { step: "a", injectedMs: 10_000, wasLeader: false }),
      fault("node", { step: "never", injectedMs: 15_000, error: "no such container" }),
    ];
    const data = {
      reactions: [reaction(12_000, "etcd", "etcd-1", "unreachable"), reaction(25_000, "node", "node-2", "Ready=Unknown")],
      desired: [{ atMs: 0, ok: true, problems: [] }],
      writes: [write(11_000, 11_100, false), write(12_000, 12_500, true), write(21_000, 21_100, true)],
      http: [],
    };
    const metrics = analyzeFaults(faults, 60_000, data);
    expect(metrics.map((m) => [m.fault.step, m.windowMs, m.detectMs, m.detectedBy])).toEqual([
      ["a", [10_000, 20_000], 2000, "etcd-1 unreachable"],
      ["b", [20_000, 60_000], 5000, "node-2 Ready=Unknown"],
    ]);
    expect(metrics[0]).toMatchObject({
      recoverMs: 2500,
      healedMs: undefined,
      afterUndoMs: undefined,
      writes: { attempts: 2, succeeded: 1 },
    });
    expect(metrics[1]).toMatchObject({ recoverMs: 0, healedMs: 0, afterUndoMs: 0, writes: { attempts: 1, succeeded: 1 } });
  });
});
