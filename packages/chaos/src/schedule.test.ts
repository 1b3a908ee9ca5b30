import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ChaosError } from "./errors.js";
import { parseScenario, planSchedule, type Scenario } from "./schedule.js";
import { seededRandom } from "./targets.js";

type RawStep = Record<string, unknown>;

/** A scenario's YAML: a name and the given steps, plus any top-level fields. */
const yamlOf = (steps: unknown, extra: Record<string, unknown> = {}): string => stringify({ name: "t", steps, ...extra });

const kill = (over: RawStep = {}): RawStep => ({ name: "a", at: "1s", action: "kill", target: "etcd-1", ...over });

/** The ChaosError parseScenario throws for `text`. */
function errorOf(text: string): ChaosError {
  try {
    parseScenario(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ChaosError);
    return e as ChaosError;
  }
  throw new Error("parseScenario accepted it");
}

describe("parseScenario", () => {
  it("reads a valid scenario, with the default probe, a 5 s warmup and 120 s to recover", () => {
    const s = parseScenario(`
name: etcd-leader-kill
description: the etcd leader killed for 20 s
steps:
  - name: kill-leader
    at: 10s
    action: kill
    target: leader:etcd
    duration: 20s
  - after: kill-leader
    wait: 5s
    action: partition
    target: node-2
    from: control-plane
  - at: 1m
    action: netem
    target: random:node
    delay: 100ms
    jitter: 10ms
    loss: 2.5%
  - at: 2m
    action: rollout-restart
    target: deployment/chaos-web
    namespace: apps
`);
    expect(s.name).toBe("etcd-leader-kill");
    expect(s.description).toBe("the etcd leader killed for 20 s");
    expect(s.seed).toBeUndefined();
    expect(s.probe).toEqual({ writesPerSecond: 50, http: true, replicas: 3, callerNode: "node-1" });
    expect(s.warmupMs).toBe(5_000);
    expect(s.recoverWithinMs).toBe(120_000);
    expect(s.steps).toEqual([
      {
        index: 0,
        name: "kill-leader",
        action: "kill",
        targetText: "leader:etcd",
        target: { kind: "leader", of: "etcd" },
        atMs: 10_000,
        after: undefined,
        waitMs: 0,
        durationMs: 20_000,
        from: [],
        netem: undefined,
        namespace: undefined,
      },
      {
        index: 1,
        name: "step-2",
        action: "partition",
        targetText: "node-2",
        target: { kind: "component", name: "node-2" },
        atMs: undefined,
        after: "kill-leader",
        waitMs: 5_000,
        durationMs: undefined,
        from: ["control-plane"],
        netem: undefined,
        namespace: undefined,
      },
      {
        index: 2,
        name: "step-3",
        action: "netem",
        targetText: "random:node",
        target: { kind: "random", of: "node" },
        atMs: 60_000,
        after: undefined,
        waitMs: 0,
        durationMs: undefined,
        from: [],
        netem: { delayMs: 100, jitterMs: 10, lossPercent: 2.5 },
        namespace: undefined,
      },
      {
        index: 3,
        name: "step-4",
        action: "rollout-restart",
        targetText: "deployment/chaos-web",
        target: undefined,
        atMs: 120_000,
        after: undefined,
        waitMs: 0,
        durationMs: undefined,
        from: [],
        netem: undefined,
        namespace: "apps",
      },
    ]);
  });

  it("takes the probe's fields, the seed, the warmup and the recovery limit from the file", () => {
    const s = parseScenario(
      yamlOf([kill()], {
        seed: 7,
        probe: { writesPerSecond: 0, http: false, replicas: 5, callerNode: "node-3" },
        warmup: "30s",
        recoverWithin: "3m",
      }),
    );
    expect(s.seed).toBe(7);
    expect(s.probe).toEqual({ writesPerSecond: 0, http: false, replicas: 5, callerNode: "node-3" });
    expect(s.warmupMs).toBe(30_000);
    expect(s.recoverWithinMs).toBe(180_000);
  });

  it("keeps the default for each probe field the file leaves out", () => {
    expect(parseScenario(yamlOf([kill()], { probe: { replicas: 2 } })).probe).toEqual({
      writesPerSecond: 50,
      http: true,
      replicas: 2,
      callerNode: "node-1",
    });
  });

  const durations: Array<{ written: unknown; ms: number }> = [
    { written: "10s", ms: 10_000 },
    { written: "1m30s", ms: 90_000 },
    { written: "500ms", ms: 500 },
    { written: "1h", ms: 3_600_000 },
    { written: "1.5s", ms: 1_500 },
    { written: 12, ms: 12_000 },
    { written: 0.25, ms: 250 },
    { written: "3", ms: 3_000 },
    { written: 0, ms: 0 },
  ];
  it.each(durations)("reads the duration $written as $ms ms (a bare number is seconds)", ({ written, ms }) => {
    expect(parseScenario(yamlOf([kill({ at: written, duration: written })])).steps[0]).toMatchObject({ atMs: ms, durationMs: ms });
  });

  it("takes a single from as a list of one, and a list as it is", () => {
    const one = parseScenario(yamlOf([{ at: 0, action: "partition", target: "node-2", from: "etcd-1" }]));
    expect(one.steps[0]!.from).toEqual(["etcd-1"]);
    const many = parseScenario(yamlOf([{ at: 0, action: "partition", target: "node-2", from: ["etcd", "apiserver-1", "control-plane"] }]));
    expect(many.steps[0]!.from).toEqual(["etcd", "apiserver-1", "control-plane"]);
  });

  // The runner resolves peers by name or group only: a role is refused when the file is read.
  it.each(["leader:etcd", "random:node"])("rejects the role %s in a partition's from, which the runner cannot resolve", (role) => {
    const text = yamlOf([{ at: 0, action: "partition", target: "node-2", from: [role] }]);
    expect(errorOf(text).message.startsWith("steps[0].from[0]: ")).toBe(true);
  });

  it("takes netem with a loss alone, and with a delay alone", () => {
    expect(parseScenario(yamlOf([{ at: 0, action: "netem", target: "etcd-1", loss: "10%" }])).steps[0]!.netem).toEqual({
      delayMs: 0,
      jitterMs: 0,
      lossPercent: 10,
    });
    expect(parseScenario(yamlOf([{ at: 0, action: "netem", target: "etcd-1", delay: "200ms" }])).steps[0]!.netem).toEqual({
      delayMs: 200,
      jitterMs: 0,
      lossPercent: 0,
    });
  });

  it("accepts exactly 100 steps", () => {
    const steps = Array.from({ length: 100 }, (_, i) => ({ at: `${i}s`, action: "restart", target: "node-1" }));
    expect(parseScenario(yamlOf(steps)).steps).toHaveLength(100);
  });

  const bad: Array<{ name: string; text: string; want: string }> = [
    { name: "text that is not YAML", text: "name: [t\nsteps: {", want: "not YAML: " },
    { name: "a list instead of a mapping", text: "- kill\n- start\n", want: "a scenario is a mapping with name and steps" },
    {
      name: "an unknown top-level field",
      text: yamlOf([kill()], { timeout: "5s" }),
      want: "timeout: unknown field (one of name, description,",
    },
    { name: "no name", text: stringify({ steps: [kill()] }), want: "name: must be a non-empty string" },
    {
      name: "a negative seed",
      text: yamlOf([kill()], { seed: -1 }),
      want: "seed: invalid value -1: must be a whole number from 0 to 4294967295",
    },
    {
      name: "a fractional seed",
      text: yamlOf([kill()], { seed: 1.5 }),
      want: "seed: invalid value 1.5: must be a whole number from 0 to 4294967295",
    },
    {
      name: "a seed that is text",
      text: yamlOf([kill()], { seed: "abc" }),
      want: 'seed: invalid value "abc": must be a whole number from 0 to 4294967295',
    },
    {
      name: "an unknown probe field",
      text: yamlOf([kill()], { probe: { rate: 5 } }),
      want: "probe.rate: unknown field (one of writesPerSecond,",
    },
    {
      name: "more than 500 writes a second",
      text: yamlOf([kill()], { probe: { writesPerSecond: 501 } }),
      want: "probe.writesPerSecond: invalid value 501: must be a number from 0 to 500",
    },
    {
      name: "no replica for the probe",
      text: yamlOf([kill()], { probe: { replicas: 0 } }),
      want: "probe.replicas: invalid value 0: must be a whole number from 1 to 20",
    },
    { name: "http that is not a boolean", text: yamlOf([kill()], { probe: { http: "yes" } }), want: "probe.http: must be true or false" },
    { name: "a bad warmup", text: yamlOf([kill()], { warmup: "soon" }), want: 'warmup: invalid value "soon": must be a duration' },
    { name: "no steps", text: yamlOf([]), want: "steps: must be a list of at least one step" },
    { name: "steps that are not a list", text: yamlOf({ a: kill() }), want: "steps: must be a list of at least one step" },
    {
      name: "too many steps",
      text: yamlOf(Array.from({ length: 101 }, (_, i) => ({ at: `${i}s`, action: "restart", target: "node-1" }))),
      want: "steps: 101 steps; at most 100",
    },
    { name: "a step that is not a mapping", text: yamlOf(["kill etcd-1"]), want: "steps[0]: must be a mapping with action and target" },
    {
      name: "an unknown step field",
      text: yamlOf([kill({ targets: "etcd-2" })]),
      want: "steps[0].targets: unknown field (one of name, at,",
    },
    {
      name: "a step named like an earlier one",
      text: yamlOf([kill(), kill({ at: "2s" })]),
      want: 'steps[1].name: "a" names an earlier step too',
    },
    {
      name: "an unnamed step whose default name an earlier step took",
      text: yamlOf([kill({ name: "step-2" }), kill({ name: undefined, at: "2s" })]),
      want: 'steps[1].name: "step-2" names an earlier step too',
    },
    {
      name: "a step without an action",
      text: yamlOf([kill({ action: undefined })]),
      want: "steps[0].action: required (one of stop, start,",
    },
    {
      name: "an unknown action",
      text: yamlOf([kill(), kill({ name: "b", action: "explode" })]),
      want: 'steps[1].action: unknown action "explode" (one of stop, start,',
    },
    { name: "a step without a target", text: yamlOf([kill({ target: undefined })]), want: "steps[0].target: required" },
    { name: "an empty target", text: yamlOf([kill({ target: "  " })]), want: "steps[0].target: must be a non-empty string" },
    {
      name: "a leader of something without a leader",
      text: yamlOf([kill({ target: "leader:apiserver" })]),
      want: 'steps[0].target "leader:apiserver": a leader is one of leader:etcd, leader:scheduler, leader:controller-manager, leader:cloud-controller-manager',
    },
    {
      name: "a random pick of an unknown kind",
      text: yamlOf([kill({ target: "random:dns" })]),
      want: 'steps[0].target "random:dns": random: takes one of node,',
    },
    {
      name: "a target that is not a component's name",
      text: yamlOf([kill({ target: "Node_2" })]),
      want: 'steps[0].target "Node_2": a component\'s short name',
    },
    {
      name: "a rollout-restart of something that is not deployment/NAME",
      text: yamlOf([kill({ action: "rollout-restart", target: "node-1" })]),
      want: 'steps[0].target: rollout-restart takes deployment/NAME, not "node-1"',
    },
    {
      name: "a rollout-restart of deployments/NAME",
      text: yamlOf([kill({ action: "rollout-restart", target: "deployments/web" })]),
      want: 'steps[0].target: rollout-restart takes deployment/NAME, not "deployments/web"',
    },
    {
      name: "a rollout-restart of a Deployment with no name",
      text: yamlOf([kill({ action: "rollout-restart", target: "deployment/" })]),
      want: 'steps[0].target: rollout-restart takes deployment/NAME, not "deployment/"',
    },
    {
      name: "a step with neither at nor after",
      text: yamlOf([kill({ at: undefined })]),
      want: "steps[0].at: required (an offset such as 10s), or after: an earlier step's name",
    },
    {
      name: "a step with both at and after",
      text: yamlOf([kill(), kill({ name: "b", after: "a" })]),
      want: "steps[1].at: a step starts at an offset or after another step, not both",
    },
    {
      name: "a step after a later step",
      text: yamlOf([kill({ at: undefined, after: "b" }), kill({ name: "b" })]),
      want: 'steps[0].after: no earlier step is named "b"',
    },
    {
      name: "a step after an unknown step",
      text: yamlOf([kill(), kill({ name: "b", at: undefined, after: "nope" })]),
      want: 'steps[1].after: no earlier step is named "nope"',
    },
    {
      name: "a step after itself",
      text: yamlOf([kill({ at: undefined, after: "a" })]),
      want: 'steps[0].after: no earlier step is named "a"',
    },
    { name: "a wait without after", text: yamlOf([kill({ wait: "5s" })]), want: "steps[0].wait: only with after (use at for an offset)" },
    {
      name: "an offset that is not a duration",
      text: yamlOf([kill({ at: "10 seconds" })]),
      want: 'steps[0].at: invalid value "10 seconds": must be a duration',
    },
    { name: "a negative offset", text: yamlOf([kill({ at: -5 })]), want: "steps[0].at: invalid value -5: must be a duration" },
    {
      name: "a negative duration",
      text: yamlOf([kill({ duration: "-5s" })]),
      want: 'steps[0].duration: invalid value "-5s": must be a duration',
    },
    ...(["restart", "start", "unpause"] as const).map((action) => ({
      name: `a duration on ${action}, which is not undone`,
      text: yamlOf([kill({ action, duration: "10s" })]),
      want: `steps[0].duration: ${action} is not undone, so it takes no duration`,
    })),
    {
      name: "a duration on rollout-restart, which is not undone",
      text: yamlOf([kill({ action: "rollout-restart", target: "deployment/web", duration: "10s" })]),
      want: "steps[0].duration: rollout-restart is not undone, so it takes no duration",
    },
    {
      name: "a namespace on a step that is not a rollout-restart",
      text: yamlOf([kill({ namespace: "default" })]),
      want: "steps[0].namespace: only rollout-restart takes a namespace",
    },
    {
      name: "from on a step that is not a partition",
      text: yamlOf([kill({ from: "etcd" })]),
      want: "steps[0].from: only partition takes from",
    },
    {
      name: "a from that is neither a group nor a component",
      text: yamlOf([kill({ action: "partition", from: ["etcd", "Bad Name"] })]),
      want: 'steps[0].from[1]: target "Bad Name": a component\'s short name',
    },
    {
      name: "a from that names an unknown role",
      text: yamlOf([kill({ action: "partition", from: "boss:etcd" })]),
      want: 'steps[0].from[0]: target "boss:etcd": unknown role "boss"',
    },
    {
      name: "netem with neither delay nor loss",
      text: yamlOf([kill({ action: "netem" })]),
      want: "steps[0].delay: netem needs a delay or a loss",
    },
    {
      name: "netem whose delay and loss are both zero",
      text: yamlOf([kill({ action: "netem", delay: "0ms", loss: "0%" })]),
      want: "steps[0].delay: netem needs a delay or a loss",
    },
    {
      name: "a jitter without a delay",
      text: yamlOf([kill({ action: "netem", jitter: "10ms", loss: "5%" })]),
      want: "steps[0].jitter: needs a delay to vary around",
    },
    {
      name: "a loss over 100%",
      text: yamlOf([kill({ action: "netem", loss: "101%" })]),
      want: 'steps[0].loss: invalid value "101%": must be a percentage from 0% to 100%',
    },
    {
      name: "a negative loss",
      text: yamlOf([kill({ action: "netem", loss: -1 })]),
      want: "steps[0].loss: invalid value -1: must be a percentage from 0% to 100%",
    },
    {
      name: "a loss that is not a number",
      text: yamlOf([kill({ action: "netem", loss: "some" })]),
      want: 'steps[0].loss: invalid value "some": must be a percentage',
    },
    { name: "a delay on a step that is not netem", text: yamlOf([kill({ delay: "100ms" })]), want: "steps[0].delay: only netem takes it" },
    { name: "a loss on a step that is not netem", text: yamlOf([kill({ loss: "5%" })]), want: "steps[0].loss: only netem takes it" },
  ];
  it.each(bad)("rejects $name, naming the field", ({ text, want }) => {
    const message = errorOf(text).message;
    expect(message.slice(0, want.length)).toBe(want);
  });
});

/** A scenario of the given steps, checked as a file would be. */
const scenarioOf = (steps: RawStep[]): Scenario => parseScenario(yamlOf(steps));

describe("planSchedule", () => {
  it("starts an at step at its offset, and undoes it its duration later", () => {
    const [a] = planSchedule(scenarioOf([kill({ at: "10s", duration: "30s" })]), 1);
    expect(a).toMatchObject({ startMs: 10_000, undoMs: 40_000 });
  });

  it("leaves a fault without a duration in place until the run ends", () => {
    const [a] = planSchedule(scenarioOf([kill({ at: "10s" })]), 1);
    expect(a!.startMs).toBe(10_000);
    expect(a!.undoMs).toBeUndefined();
  });

  it("starts a step after one with a duration at that one's undoing plus the wait, and after one without at its start plus the wait", () => {
    const plan = planSchedule(
      scenarioOf([
        kill({ name: "a", at: "10s", duration: "30s" }),
        { name: "b", after: "a", wait: "5s", action: "restart", target: "node-1" },
        { name: "c", after: "b", wait: "2s", action: "pause", target: "node-2", duration: "1s" },
        { name: "d", after: "c", action: "restart", target: "node-3" },
        { name: "e", after: "a", action: "restart", target: "node-3" },
        { name: "f", at: 0, action: "restart", target: "node-3" },
      ]),
      1,
    );
    expect(plan.map((p) => [p.name, p.startMs, p.undoMs])).toEqual([
      ["a", 10_000, 40_000],
      ["b", 45_000, undefined],
      ["c", 47_000, 48_000],
      ["d", 48_000, undefined],
      ["e", 40_000, undefined],
      ["f", 0, undefined],
    ]);
  });

  it("draws once per step in file order, from the seed alone", () => {
    const plan = planSchedule(
      scenarioOf([
        kill({ name: "late", at: "60s" }),
        kill({ name: "early", at: "0s" }),
        kill({ name: "then", after: "late", at: undefined }),
      ]),
      42,
    );
    const random = seededRandom(42);
    expect(plan.map((p) => p.draw)).toEqual([random(), random(), random()]);
  });

  it("gives the same draws for the same seed and different draws for another", () => {
    const s = scenarioOf([kill({ name: "a" }), kill({ name: "b" }), kill({ name: "c" })]);
    const draws = (seed: number) => planSchedule(s, seed).map((p) => p.draw);
    expect(draws(7)).toEqual(draws(7));
    expect(draws(8)).not.toEqual(draws(7));
    for (const d of draws(7)) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1);
    }
  });

  it("refuses a seed the 32-bit generator cannot take, naming the field", () => {
    expect(errorOf(yamlOf([kill()], { seed: 2 ** 32 })).message).toMatch(
      /^seed: invalid value 4294967296: must be a whole number from 0 to 4294967295/,
    );
    expect(parseScenario(yamlOf([kill()], { seed: 2 ** 32 - 1 })).seed).toBe(2 ** 32 - 1);
  });

  it("changes no draw when a wait or an offset changes: only the seed and the order of steps count", () => {
    const before = scenarioOf([
      kill({ name: "a", duration: "10s" }),
      kill({ name: "b", at: undefined, after: "a" }),
      kill({ name: "c", at: "5s" }),
    ]);
    const after = scenarioOf([
      kill({ name: "a", duration: "20s" }),
      kill({ name: "b", at: undefined, after: "a", wait: "30s" }),
      kill({ name: "c", at: "1m" }),
    ]);
    const planBefore = planSchedule(before, 3);
    const planAfter = planSchedule(after, 3);
    expect(planAfter.map((p) => p.startMs)).not.toEqual(planBefore.map((p) => p.startMs));
    expect(planAfter.map((p) => p.draw)).toEqual(planBefore.map((p) => p.draw));
  });
});
