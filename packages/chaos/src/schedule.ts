// A fault schedule: a scenario file's steps, checked field by field, and the plan of one run (each
// step's nominal offset and its draw from the seed). Pure: no Docker, no clock.
import { parseDurationSeconds } from "@kubelab/api";
import { parse as parseYaml } from "yaml";
import { ChaosError } from "./errors.js";
import { parseTarget, seededRandom, type Target } from "./targets.js";

/** What a step does. Each with a duration is undone when it ends (see UNDO). */
export const ACTIONS = ["stop", "start", "kill", "pause", "unpause", "restart", "partition", "netem", "rollout-restart"] as const;
export type Action = (typeof ACTIONS)[number];

/** The action that undoes each undoable action: a step with a duration is undone by it. */
export const UNDO: Partial<Record<Action, string>> = {
  stop: "start",
  kill: "start",
  pause: "unpause",
  partition: "heal",
  netem: "heal",
};

export interface NetemSettings {
  delayMs: number;
  jitterMs: number;
  /** Share of packets dropped, 0..100. */
  lossPercent: number;
}

export interface Step {
  /** Position in the file, from 0. */
  index: number;
  /** Its name in the file, or "step-<n>" (from 1). */
  name: string;
  action: Action;
  /** The target as written ("leader:etcd", "node-2", "deployment/chaos-web"). */
  targetText: string;
  /** Parsed, for the Docker actions; undefined for rollout-restart. */
  target?: Target;
  /** Offset from the run's start, or undefined when the step follows another. */
  atMs?: number;
  /** The step this one follows: it starts `waitMs` after that one is done (its fault undone). */
  after?: string;
  waitMs: number;
  /** How long the fault lasts before it is undone; undefined: until the run ends. */
  durationMs?: number;
  /** partition: the peers to cut it from (targets or groups); empty: every network. */
  from: string[];
  netem?: NetemSettings;
  /** rollout-restart: the Deployment's namespace (the probe's by default). */
  namespace?: string;
}

export interface ProbeSettings {
  /** API writes per second (0: no writer, no watcher). */
  writesPerSecond: number;
  /** The HTTP probes: a Deployment behind a NodePort Service, called from the host and from a pod. */
  http: boolean;
  /** Replicas of the probe's Deployment. */
  replicas: number;
  /** The node the in-cluster HTTP caller runs on. */
  callerNode: string;
}

export interface Scenario {
  name: string;
  description: string;
  seed?: number;
  probe: ProbeSettings;
  steps: Step[];
  /** Before the first step: the probe runs alone, as the baseline. */
  warmupMs: number;
  /** The desired state must be back within this after the last fault is undone. */
  recoverWithinMs: number;
}

export const DEFAULT_PROBE: ProbeSettings = { writesPerSecond: 50, http: true, replicas: 3, callerNode: "node-1" };

/**
 * Groups a partition's `from` may name besides components: every component of a kind ("etcd",
 * "apiserver", "node"...) or the whole control plane.
 */
export const PEER_GROUPS: Record<string, string[]> = {
  "control-plane": ["etcd", "apiserver", "scheduler", "controller-manager"],
  etcd: ["etcd"],
  apiserver: ["apiserver"],
  scheduler: ["scheduler"],
  "controller-manager": ["controller-manager"],
  node: ["node"],
  dns: ["dns"],
  "metrics-server": ["metrics-server"],
};

const SCENARIO_FIELDS = ["name", "description", "seed", "probe", "steps", "warmup", "recoverWithin"];
const PROBE_FIELDS = ["writesPerSecond", "http", "replicas", "callerNode"];
const STEP_FIELDS = ["name", "at", "after", "wait", "action", "target", "namespace", "duration", "from", "delay", "jitter", "loss"];

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkFields(obj: Raw, allowed: string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new ChaosError(`${where}${key}: unknown field (one of ${allowed.join(", ")})`);
  }
}

/** Seeds are 32-bit: the generator takes no more. */
export const MAX_SEED = 2 ** 32 - 1;
export const isSeed = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_SEED;

/** Milliseconds in a duration field ("10s", "1m30s", "500ms", or a number of seconds). */
export function durationMs(value: unknown, field: string): number {
  const seconds = typeof value === "number" ? value : typeof value === "string" ? parseDurationSeconds(value) : undefined;
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0)
    throw new ChaosError(`${field}: invalid value ${JSON.stringify(value)}: must be a duration such as 10s, 1m30s or 500ms`);
  return Math.round(seconds * 1000);
}

/** A share of packets ("10%", "0.5%", or a number of percent). */
export function percent(value: unknown, field: string): number {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim().replace(/%$/, "") : "";
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new ChaosError(`${field}: invalid value ${JSON.stringify(value)}: must be a percentage from 0% to 100%`);
  return n;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new ChaosError(`${field}: must be a non-empty string`);
  return value.trim();
}

/** The netem settings of a step or of the command line; at least one of delay and loss. */
export function netemSettings(raw: { delay?: unknown; jitter?: unknown; loss?: unknown }, where = ""): NetemSettings {
  const delayMs = raw.delay === undefined ? 0 : durationMs(raw.delay, `${where}delay`);
  const jitterMs = raw.jitter === undefined ? 0 : durationMs(raw.jitter, `${where}jitter`);
  const lossPercent = raw.loss === undefined ? 0 : percent(raw.loss, `${where}loss`);
  if (jitterMs > 0 && delayMs === 0) throw new ChaosError(`${where}jitter: needs a delay to vary around`);
  if (delayMs === 0 && lossPercent === 0) throw new ChaosError(`${where}delay: netem needs a delay or a loss`);
  return { delayMs, jitterMs, lossPercent };
}

function parseStep(raw: unknown, index: number, earlier: Step[]): Step {
  const where = `steps[${index}].`;
  if (!isObject(raw)) throw new ChaosError(`steps[${index}]: must be a mapping with action and target`);
  checkFields(raw, STEP_FIELDS, where);
  const name = raw.name === undefined ? `step-${index + 1}` : text(raw.name, `${where}name`);
  if (earlier.some((s) => s.name === name)) throw new ChaosError(`${where}name: ${JSON.stringify(name)} names an earlier step too`);
  if (raw.action === undefined) throw new ChaosError(`${where}action: required (one of ${ACTIONS.join(", ")})`);
  const action = raw.action as Action;
  if (!ACTIONS.includes(action))
    throw new ChaosError(`${where}action: unknown action ${JSON.stringify(raw.action)} (one of ${ACTIONS.join(", ")})`);
  if (raw.target === undefined) throw new ChaosError(`${where}target: required`);
  const targetText = text(raw.target, `${where}target`);
  let target: Target | undefined;
  if (action === "rollout-restart") {
    if (!/^deployment\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(targetText))
      throw new ChaosError(`${where}target: rollout-restart takes deployment/NAME, not ${JSON.stringify(targetText)}`);
  } else {
    try {
      target = parseTarget(targetText);
    } catch (e) {
      if (e instanceof ChaosError) throw new ChaosError(`${where}${e.message}`);
      throw e;
    }
  }
  if (raw.at !== undefined && raw.after !== undefined)
    throw new ChaosError(`${where}at: a step starts at an offset or after another step, not both`);
  if (raw.at === undefined && raw.after === undefined)
    throw new ChaosError(`${where}at: required (an offset such as 10s), or after: an earlier step's name`);
  let after: string | undefined;
  if (raw.after !== undefined) {
    after = text(raw.after, `${where}after`);
    if (!earlier.some((s) => s.name === after)) throw new ChaosError(`${where}after: no earlier step is named ${JSON.stringify(after)}`);
  }
  if (raw.wait !== undefined && after === undefined) throw new ChaosError(`${where}wait: only with after (use at for an offset)`);
  let durationMsValue: number | undefined;
  if (raw.duration !== undefined) {
    if (!UNDO[action]) throw new ChaosError(`${where}duration: ${action} is not undone, so it takes no duration`);
    durationMsValue = durationMs(raw.duration, `${where}duration`);
  }
  if (raw.namespace !== undefined && action !== "rollout-restart")
    throw new ChaosError(`${where}namespace: only rollout-restart takes a namespace`);
  let from: string[] = [];
  if (raw.from !== undefined) {
    if (action !== "partition") throw new ChaosError(`${where}from: only partition takes from`);
    const list = Array.isArray(raw.from) ? raw.from : [raw.from];
    from = list.map((f, i) => text(f, `${where}from[${i}]`));
    for (const [i, f] of from.entries()) {
      if (PEER_GROUPS[f]) continue;
      let peer: Target;
      try {
        peer = parseTarget(f);
      } catch (e) {
        if (e instanceof ChaosError) throw new ChaosError(`${where}from[${i}]: ${e.message}`);
        throw e;
      }
      if (peer.kind !== "component")
        throw new ChaosError(
          `${where}from[${i}]: ${JSON.stringify(f)}: a partition's peers are components or groups (${Object.keys(PEER_GROUPS).join(", ")}), not roles`,
        );
    }
  }
  let netem: NetemSettings | undefined;
  const hasNetemField = raw.delay !== undefined || raw.jitter !== undefined || raw.loss !== undefined;
  if (action === "netem") netem = netemSettings(raw, where);
  else if (hasNetemField)
    throw new ChaosError(
      `${where}${raw.delay !== undefined ? "delay" : raw.jitter !== undefined ? "jitter" : "loss"}: only netem takes it`,
    );
  return {
    index,
    name,
    action,
    targetText,
    target,
    atMs: raw.at === undefined ? undefined : durationMs(raw.at, `${where}at`),
    after,
    waitMs: raw.wait === undefined ? 0 : durationMs(raw.wait, `${where}wait`),
    durationMs: durationMsValue,
    from,
    netem,
    namespace: raw.namespace === undefined ? undefined : text(raw.namespace, `${where}namespace`),
  };
}

/** A scenario from its YAML text; a ChaosError names the first field that is wrong. */
export function parseScenario(yamlText: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (e) {
    throw new ChaosError(`not YAML: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new ChaosError("a scenario is a mapping with name and steps");
  checkFields(raw, SCENARIO_FIELDS, "");
  const name = text(raw.name, "name");
  if (raw.seed !== undefined && !isSeed(raw.seed))
    throw new ChaosError(`seed: invalid value ${JSON.stringify(raw.seed)}: must be a whole number from 0 to ${MAX_SEED}`);
  const probe = { ...DEFAULT_PROBE };
  if (raw.probe !== undefined) {
    if (!isObject(raw.probe)) throw new ChaosError("probe: must be a mapping");
    checkFields(raw.probe, PROBE_FIELDS, "probe.");
    const p = raw.probe;
    if (p.writesPerSecond !== undefined) {
      if (typeof p.writesPerSecond !== "number" || p.writesPerSecond < 0 || p.writesPerSecond > 500)
        throw new ChaosError(`probe.writesPerSecond: invalid value ${JSON.stringify(p.writesPerSecond)}: must be a number from 0 to 500`);
      probe.writesPerSecond = p.writesPerSecond;
    }
    if (p.http !== undefined) {
      if (typeof p.http !== "boolean") throw new ChaosError(`probe.http: must be true or false`);
      probe.http = p.http;
    }
    if (p.replicas !== undefined) {
      if (!Number.isInteger(p.replicas) || (p.replicas as number) < 1 || (p.replicas as number) > 20)
        throw new ChaosError(`probe.replicas: invalid value ${JSON.stringify(p.replicas)}: must be a whole number from 1 to 20`);
      probe.replicas = p.replicas as number;
    }
    if (p.callerNode !== undefined) probe.callerNode = text(p.callerNode, "probe.callerNode");
  }
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) throw new ChaosError("steps: must be a list of at least one step");
  if (raw.steps.length > 100) throw new ChaosError(`steps: ${raw.steps.length} steps; at most 100`);
  const steps: Step[] = [];
  for (const [i, s] of raw.steps.entries()) steps.push(parseStep(s, i, steps));
  return {
    name,
    description: raw.description === undefined ? "" : text(raw.description, "description"),
    seed: raw.seed as number | undefined,
    probe,
    steps,
    warmupMs: raw.warmup === undefined ? 5_000 : durationMs(raw.warmup, "warmup"),
    recoverWithinMs: raw.recoverWithin === undefined ? 120_000 : durationMs(raw.recoverWithin, "recoverWithin"),
  };
}

export interface PlannedStep extends Step {
  /** Nominal offset from the first step's zero, assuming every action itself takes no time. */
  startMs: number;
  /** When its fault is undone (nominal), or undefined when it lasts until the run ends. */
  undoMs?: number;
  /** This step's draw from the seed, in [0, 1): what a random: target picks with. */
  draw: number;
}

/**
 * The plan of a run: every step's nominal start and its draw from the seed. Draws are taken in
 * file order, one per step, so which component a random: target picks depends on the seed and
 * the file only, never on how long earlier actions took.
 */
export function planSchedule(scenario: Scenario, seed: number): PlannedStep[] {
  const random = seededRandom(seed);
  const planned: PlannedStep[] = [];
  for (const step of scenario.steps) {
    const draw = random();
    let startMs: number;
    if (step.after !== undefined) {
      const before = planned.find((p) => p.name === step.after)!;
      startMs = (before.undoMs ?? before.startMs) + step.waitMs;
    } else startMs = step.atMs!;
    planned.push({ ...step, startMs, undoMs: step.durationMs === undefined ? undefined : startMs + step.durationMs, draw });
  }
  return planned;
}
