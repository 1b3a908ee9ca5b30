import { describe, expect, it } from "vitest";
import {
  calculatePodRequests,
  getRawResourceReplicas,
  getResourceReplicas,
  getResourceUtilizationRatio,
  groupPods,
  isWithinTolerances,
  type HpaPod,
  type PodMetric,
  type ReplicaCalculatorOptions,
  type ResourceName,
} from "./replicaCalculator.js";

const NOW_MS = Date.parse("2024-05-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW_MS - ms).toISOString();
const MINUTE = 60_000;

type PodShape = "ready" | "neverReady" | "notReadyAfterBeingReady" | "hot" | "pending" | "failed" | "deleted";

/** A pod with one container requesting `requestMilli`; "hot" started a minute ago and its cpu sample covers its start-up. */
function pod(name: string, shape: PodShape = "ready", requestMilli = 1000, resource: ResourceName = "cpu"): HpaPod {
  const base = { name, phase: "Running", containers: [{ name: "app", requestsMilli: { [resource]: requestMilli } }] };
  const started = ago(10 * MINUTE);
  switch (shape) {
    case "ready":
      return { ...base, startTime: started, ready: { status: "True", lastTransitionTime: ago(9 * MINUTE) } };
    case "neverReady":
      return { ...base, startTime: started, ready: { status: "False", lastTransitionTime: started } };
    case "notReadyAfterBeingReady":
      return { ...base, startTime: started, ready: { status: "False", lastTransitionTime: ago(MINUTE) } };
    case "hot":
      return { ...base, startTime: ago(MINUTE), ready: { status: "True", lastTransitionTime: ago(30_000) } };
    case "pending":
      return { ...base, phase: "Pending" };
    case "failed":
      return { ...base, phase: "Failed", startTime: started, ready: { status: "False", lastTransitionTime: ago(MINUTE) } };
    case "deleted":
      return { ...base, deletionTimestamp: ago(1000), startTime: started, ready: { status: "True", lastTransitionTime: ago(9 * MINUTE) } };
  }
}

const sample = (valueMilli: number, timestampMs = NOW_MS - 15_000): PodMetric => ({ valueMilli, timestampMs, windowMs: MINUTE });

/** Pods web-0…web-n and metrics for the first levels.length of them (or for the names given). */
function fleet(
  shapes: PodShape[],
  levels: Array<number | undefined>,
  requestMilli: number | number[] = 1000,
  resource: ResourceName = "cpu",
) {
  const pods = shapes.map((s, i) => pod(`web-${i}`, s, Array.isArray(requestMilli) ? requestMilli[i] : requestMilli, resource));
  const metrics = new Map<string, PodMetric>();
  levels.forEach((level, i) => {
    if (level !== undefined) metrics.set(`web-${i}`, sample(level));
  });
  return { pods, metrics };
}

const ready = (n: number): PodShape[] => Array.from({ length: n }, () => "ready");

describe("getResourceReplicas (Utilization target)", () => {
  const cases: Array<{
    rule: string;
    current: number;
    shapes: PodShape[];
    levels: Array<number | undefined>;
    requests?: number | number[];
    target: number;
    resource?: ResourceName;
    options?: ReplicaCalculatorOptions;
    want: { replicas: number; utilizationPercent: number; rawAverageMilli: number };
  }> = [
    {
      rule: "scales up to ceil(usage ratio × ready pods)",
      current: 3,
      shapes: ready(3),
      levels: [300, 500, 700],
      target: 30,
      want: { replicas: 5, utilizationPercent: 50, rawAverageMilli: 500 },
    },
    {
      rule: "scales down to ceil(usage ratio × ready pods)",
      current: 5,
      shapes: ready(5),
      levels: [100, 300, 500, 250, 250],
      target: 50,
      want: { replicas: 3, utilizationPercent: 28, rawAverageMilli: 280 },
    },
    {
      rule: "keeps the current count while the ratio is within the tolerance (summed usage over summed requests)",
      current: 3,
      shapes: ready(3),
      levels: [1010, 1030, 1020],
      requests: [900, 1000, 1100],
      target: 100,
      want: { replicas: 3, utilizationPercent: 102, rawAverageMilli: 1020 },
    },
    {
      rule: "a ratio of exactly 1 + tolerance is within it",
      current: 2,
      shapes: ready(2),
      levels: [1100, 1100],
      target: 100,
      want: { replicas: 2, utilizationPercent: 110, rawAverageMilli: 1100 },
    },
    {
      rule: "a ratio of exactly 1 - tolerance is within it",
      current: 2,
      shapes: ready(2),
      levels: [900, 900],
      target: 100,
      want: { replicas: 2, utilizationPercent: 90, rawAverageMilli: 900 },
    },
    {
      rule: "a ratio just past the tolerance scales",
      current: 2,
      shapes: ready(2),
      levels: [1110, 1110],
      target: 100,
      want: { replicas: 3, utilizationPercent: 111, rawAverageMilli: 1110 },
    },
    {
      rule: "a wider scale-up tolerance of the HPA's own holds a ratio the flag's would act on",
      current: 2,
      shapes: ready(2),
      levels: [1400, 1400],
      target: 100,
      options: { tolerances: { scaleUp: 0.5 } },
      want: { replicas: 2, utilizationPercent: 140, rawAverageMilli: 1400 },
    },
    {
      rule: "the flag's tolerance still applies to the direction the HPA leaves unset",
      current: 4,
      shapes: ready(4),
      levels: [850, 850, 850, 850],
      target: 100,
      options: { tolerances: { scaleUp: 0.5 } },
      want: { replicas: 4, utilizationPercent: 85, rawAverageMilli: 850 },
    },
    {
      rule: "a never-ready cpu pod is left out, then counted as using nothing on a scale-up",
      current: 3,
      shapes: ["neverReady", "ready", "ready"],
      levels: [300, 500, 700],
      target: 30,
      want: { replicas: 4, utilizationPercent: 60, rawAverageMilli: 600 },
    },
    {
      rule: "a cpu pod within its initialization period whose sample covers its start-up counts as unready",
      current: 3,
      shapes: ["hot", "ready", "ready"],
      levels: [300, 500, 700],
      target: 30,
      want: { replicas: 4, utilizationPercent: 60, rawAverageMilli: 600 },
    },
    {
      rule: "a cpu pod that was ready before and is not now counts with its metric",
      current: 3,
      shapes: ["notReadyAfterBeingReady", "ready", "ready"],
      levels: [300, 500, 700],
      target: 30,
      want: { replicas: 5, utilizationPercent: 50, rawAverageMilli: 500 },
    },
    {
      rule: "no scale-up when counting unready pods at zero would turn it into a scale-down",
      current: 3,
      shapes: ["ready", "neverReady", "neverReady"],
      levels: [400, 500, 700],
      target: 30,
      want: { replicas: 3, utilizationPercent: 40, rawAverageMilli: 400 },
    },
    {
      rule: "unready pods do not hold back a scale-down: it counts the ready pods only",
      current: 5,
      shapes: ["ready", "ready", "ready", "neverReady", "neverReady"],
      levels: [100, 300, 500, 250, 250],
      target: 50,
      want: { replicas: 2, utilizationPercent: 30, rawAverageMilli: 300 },
    },
    {
      rule: "pending pods are unready: a scale-down counts the running pods only",
      current: 5,
      shapes: ["ready", "pending", "pending", "pending", "pending"],
      levels: [100],
      target: 50,
      want: { replicas: 1, utilizationPercent: 10, rawAverageMilli: 100 },
    },
    {
      rule: "memory has no readiness rule: a not-ready pod's metric counts",
      current: 3,
      shapes: ["neverReady", "ready", "ready"],
      levels: [300, 500, 700],
      target: 30,
      resource: "memory",
      want: { replicas: 5, utilizationPercent: 50, rawAverageMilli: 500 },
    },
    {
      rule: "pending pods are unready for memory too",
      current: 3,
      shapes: ["pending", "ready", "ready"],
      levels: [undefined, 500, 700],
      target: 30,
      resource: "memory",
      want: { replicas: 4, utilizationPercent: 60, rawAverageMilli: 600 },
    },
    {
      rule: "on a scale-down pods without metrics count as using their full request",
      current: 4,
      shapes: ready(4),
      levels: [400, 95],
      target: 100,
      want: { replicas: 3, utilizationPercent: 24, rawAverageMilli: 247 },
    },
    {
      rule: "on a scale-down above a 100% target pods without metrics count as using the target",
      current: 5,
      shapes: ready(5),
      levels: [0],
      target: 200,
      want: { replicas: 4, utilizationPercent: 0, rawAverageMilli: 0 },
    },
    {
      rule: "on a scale-up pods without metrics count as using nothing",
      current: 3,
      shapes: ready(3),
      levels: [2000, 2000],
      target: 50,
      want: { replicas: 8, utilizationPercent: 200, rawAverageMilli: 2000 },
    },
    {
      rule: "no scale-up when counting pods without metrics at zero brings the ratio within tolerance",
      current: 2,
      shapes: ready(2),
      levels: [1900],
      target: 100,
      want: { replicas: 2, utilizationPercent: 190, rawAverageMilli: 1900 },
    },
    {
      rule: "unready and metric-less pods together keep the count when the ratio with them is within tolerance",
      current: 3,
      shapes: ["neverReady", "ready", "ready"],
      levels: [100, 450],
      target: 50,
      want: { replicas: 3, utilizationPercent: 45, rawAverageMilli: 450 },
    },
    {
      rule: "an unready pod and a metric-less pod both count as using nothing on a scale-up",
      current: 3,
      shapes: ["neverReady", "ready", "ready"],
      levels: [100, 2000],
      target: 50,
      want: { replicas: 4, utilizationPercent: 200, rawAverageMilli: 2000 },
    },
    {
      rule: "failed pods are ignored, not counted as pods without metrics",
      current: 2,
      shapes: ["ready", "ready", "failed", "failed"],
      levels: [500, 700],
      target: 30,
      want: { replicas: 4, utilizationPercent: 60, rawAverageMilli: 600 },
    },
    {
      rule: "pods being deleted are ignored, their metrics too",
      current: 5,
      shapes: ["ready", "ready", "ready", "ready", "ready", "deleted", "deleted"],
      levels: [100, 300, 500, 250, 250, 2000, 2000],
      target: 50,
      want: { replicas: 3, utilizationPercent: 28, rawAverageMilli: 280 },
    },
  ];

  for (const c of cases) {
    it(c.rule, () => {
      const resource = c.resource ?? "cpu";
      const { pods, metrics } = fleet(c.shapes, c.levels, c.requests ?? 1000, resource);
      const got = getResourceReplicas({
        currentReplicas: c.current,
        resource,
        targetUtilizationPercent: c.target,
        pods,
        metrics,
        nowMs: NOW_MS,
        options: c.options,
      });
      expect(got).toEqual({ ok: true, ...c.want, timestampMs: NOW_MS - 15_000 });
    });
  }

  it("leaves out metrics of pods the selector no longer matches", () => {
    const { pods, metrics } = fleet(ready(4), [4000, 9500, 3000, 7000]);
    metrics.set("gone-1", sample(3200)).set("gone-2", sample(2000));
    const got = getResourceReplicas({ currentReplicas: 4, resource: "cpu", targetUtilizationPercent: 100, pods, metrics, nowMs: NOW_MS });
    expect(got).toMatchObject({ ok: true, replicas: 24, utilizationPercent: 587, rawAverageMilli: 5875 });
  });

  it("reports the first metric's timestamp and leaves the input metrics as they were", () => {
    const { pods, metrics } = fleet(["neverReady", "ready"], [100, 100]);
    metrics.set("web-0", sample(100, NOW_MS - 40_000));
    const got = getResourceReplicas({ currentReplicas: 2, resource: "cpu", targetUtilizationPercent: 10, pods, metrics, nowMs: NOW_MS });
    expect(got).toMatchObject({ ok: true, timestampMs: NOW_MS - 40_000 });
    expect([...metrics.keys()]).toEqual(["web-0", "web-1"]);
  });

  it("counts restartable init containers' requests, and only a ContainerResource metric's container's", () => {
    const sidecarPod: HpaPod = {
      ...pod("web-0"),
      containers: [
        { name: "app", requestsMilli: { cpu: 600 } },
        { name: "log", requestsMilli: { cpu: 200 } },
      ],
      initContainers: [
        { name: "proxy", restartPolicy: "Always", requestsMilli: { cpu: 200 } },
        { name: "migrate", requestsMilli: {} },
      ],
    };
    const metrics = new Map([["web-0", sample(500)]]);
    const whole = getResourceReplicas({
      currentReplicas: 1,
      resource: "cpu",
      targetUtilizationPercent: 100,
      pods: [sidecarPod],
      metrics,
      nowMs: NOW_MS,
    });
    expect(whole).toMatchObject({ ok: true, utilizationPercent: 50 });
    const app = getResourceReplicas({
      currentReplicas: 1,
      resource: "cpu",
      targetUtilizationPercent: 100,
      pods: [sidecarPod],
      metrics,
      nowMs: NOW_MS,
      container: "app",
    });
    expect(app).toMatchObject({ ok: true, utilizationPercent: 83 });
  });
});

describe("getResourceReplicas failures", () => {
  const run = (pods: HpaPod[], metrics: Map<string, PodMetric>, container?: string) =>
    getResourceReplicas({
      currentReplicas: pods.length,
      resource: "cpu",
      targetUtilizationPercent: 50,
      pods,
      metrics,
      nowMs: NOW_MS,
      container,
    });

  const cases: Array<{ rule: string; pods: HpaPod[]; metrics: Map<string, PodMetric>; container?: string; message: string }> = [
    {
      rule: "no metrics at all is the metrics API's failure",
      pods: [pod("web-0")],
      metrics: new Map(),
      message: "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    },
    {
      rule: "no pods matched",
      pods: [],
      metrics: new Map([["web-0", sample(100)]]),
      message: "no pods returned by selector while calculating replica count",
    },
    {
      rule: "every pod with a metric is unready",
      pods: [pod("web-0", "neverReady"), pod("web-1", "pending")],
      metrics: new Map([["web-0", sample(100)]]),
      message: "did not receive metrics for targeted pods (pods might be unready)",
    },
    {
      rule: "a container without a request for the resource",
      pods: [pod("web-0"), { ...pod("web-1"), containers: [{ name: "app", requestsMilli: { memory: 1000 } }] }],
      metrics: new Map([["web-0", sample(100)]]),
      message: "missing request for cpu in container app of Pod web-1",
    },
    {
      rule: "a deleted pod's containers still need requests",
      pods: [pod("web-0"), { ...pod("web-1", "deleted"), containers: [{ name: "app", requestsMilli: {} }] }],
      metrics: new Map([["web-0", sample(100)]]),
      message: "missing request for cpu in container app of Pod web-1",
    },
    {
      rule: "metrics only for pods the selector does not match",
      pods: [pod("web-0")],
      metrics: new Map([["an-older-pod-name", sample(100)]]),
      message: "no metrics returned matched known pods",
    },
    {
      rule: "a ContainerResource metric's container missing from a pod",
      pods: [pod("web-0")],
      metrics: new Map([["web-0", sample(100)]]),
      container: "sidecar",
      message: "container sidecar not found in Pod web-0",
    },
  ];

  for (const c of cases) {
    it(`fails when ${c.rule}`, () => {
      expect(run(c.pods, c.metrics, c.container)).toMatchObject({ ok: false, message: c.message });
    });
  }

  it("words the event and the ScalingActive condition as the HPA controller does", () => {
    const got = run([pod("web-0", "neverReady")], new Map([["web-0", sample(100)]]));
    expect(got).toEqual({
      ok: false,
      reason: "FailedGetResourceMetric",
      message: "did not receive metrics for targeted pods (pods might be unready)",
      eventMessage: "failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)",
      conditionMessage:
        "the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)",
    });
    const container = run([pod("web-0")], new Map([["web-0", sample(100)]]), "sidecar");
    expect(container).toMatchObject({ ok: false, reason: "FailedGetContainerResourceMetric" });
  });
});

describe("getRawResourceReplicas (AverageValue target)", () => {
  const cases: Array<{
    rule: string;
    current: number;
    shapes: PodShape[];
    levels: Array<number | undefined>;
    target: number;
    resource?: ResourceName;
    want: { replicas: number; rawAverageMilli: number };
  }> = [
    {
      rule: "scales up to ceil(average usage / target × ready pods)",
      current: 3,
      shapes: ready(3),
      levels: [20000, 10000, 30000],
      target: 15000,
      want: { replicas: 4, rawAverageMilli: 20000 },
    },
    {
      rule: "scales down the same way",
      current: 5,
      shapes: ready(5),
      levels: [12000, 12000, 12000, 12000, 12000],
      target: 20000,
      want: { replicas: 3, rawAverageMilli: 12000 },
    },
    {
      rule: "keeps the current count within tolerance",
      current: 3,
      shapes: ready(3),
      levels: [20000, 21000, 21000],
      target: 20000,
      want: { replicas: 3, rawAverageMilli: 20666 },
    },
    {
      rule: "on a scale-down pods without metrics count as using exactly the target",
      current: 4,
      shapes: ready(4),
      levels: [1000, 1000],
      target: 4000,
      want: { replicas: 3, rawAverageMilli: 1000 },
    },
    {
      rule: "on a scale-up pods without metrics count as using nothing",
      current: 3,
      shapes: ready(3),
      levels: [3000, 3000],
      target: 1000,
      want: { replicas: 6, rawAverageMilli: 3000 },
    },
    {
      rule: "for cpu an unready pod is left out, then counted as using nothing on a scale-up",
      current: 3,
      shapes: ["neverReady", "ready", "ready"],
      levels: [500, 500, 700],
      target: 300,
      want: { replicas: 4, rawAverageMilli: 600 },
    },
    {
      rule: "for memory a not-ready pod's usage counts",
      current: 3,
      shapes: ["neverReady", "ready", "ready"],
      levels: [500, 500, 700],
      target: 300,
      resource: "memory",
      want: { replicas: 6, rawAverageMilli: 566 },
    },
  ];

  for (const c of cases) {
    it(c.rule, () => {
      const resource = c.resource ?? "cpu";
      const { pods, metrics } = fleet(c.shapes, c.levels, 1000, resource);
      const got = getRawResourceReplicas({
        currentReplicas: c.current,
        resource,
        targetAverageValueMilli: c.target,
        pods,
        metrics,
        nowMs: NOW_MS,
      });
      expect(got).toEqual({ ok: true, ...c.want, timestampMs: NOW_MS - 15_000 });
    });
  }

  it("needs no requests, and words its failures as usage", () => {
    const noRequests: HpaPod = { ...pod("web-0"), containers: [{ name: "app", requestsMilli: {} }] };
    const metrics = new Map([["web-0", sample(2000)]]);
    expect(
      getRawResourceReplicas({
        currentReplicas: 1,
        resource: "cpu",
        targetAverageValueMilli: 1000,
        pods: [noRequests],
        metrics,
        nowMs: NOW_MS,
      }),
    ).toMatchObject({
      ok: true,
      replicas: 2,
    });
    expect(
      getRawResourceReplicas({ currentReplicas: 1, resource: "memory", targetAverageValueMilli: 1000, pods: [], metrics, nowMs: NOW_MS }),
    ).toMatchObject({
      ok: false,
      eventMessage: "failed to get memory usage: no pods returned by selector while calculating replica count",
    });
  });
});

describe("groupPods", () => {
  const at = (msAgo: number) => ago(msAgo);
  const cases: Array<{
    rule: string;
    pod: HpaPod;
    metric?: PodMetric;
    resource?: ResourceName;
    want: "ready" | "unready" | "missing" | "ignored";
  }> = [
    {
      rule: "memory counts any pod with a metric, whatever its phase or readiness",
      pod: { name: "p", phase: "Succeeded", containers: [] },
      metric: sample(1),
      resource: "memory",
      want: "ready",
    },
    {
      rule: "cpu: a pod without a Ready condition is unready",
      pod: { name: "p", phase: "Running", startTime: at(MINUTE), containers: [] },
      metric: sample(1),
      want: "unready",
    },
    {
      rule: "cpu: a pod without a start time is unready",
      pod: { name: "p", phase: "Running", ready: { status: "True", lastTransitionTime: at(9 * MINUTE) }, containers: [] },
      metric: sample(1),
      want: "unready",
    },
    {
      rule: "cpu: within the initialization period, a Ready pod whose sample's window began after it became ready counts",
      pod: {
        name: "p",
        phase: "Running",
        startTime: at(MINUTE),
        ready: { status: "True", lastTransitionTime: at(30_000) },
        containers: [],
      },
      metric: { valueMilli: 1, timestampMs: NOW_MS, windowMs: 30_000 },
      want: "ready",
    },
    {
      rule: "cpu: within the initialization period, a Ready pod whose sample's window began before it became ready is unready",
      pod: {
        name: "p",
        phase: "Running",
        startTime: at(MINUTE),
        ready: { status: "True", lastTransitionTime: at(30_000) },
        containers: [],
      },
      metric: { valueMilli: 1, timestampMs: NOW_MS, windowMs: MINUTE },
      want: "unready",
    },
    {
      rule: "cpu: within the initialization period, a not-Ready pod is unready",
      pod: {
        name: "p",
        phase: "Running",
        startTime: at(MINUTE),
        ready: { status: "False", lastTransitionTime: at(2 * MINUTE) },
        containers: [],
      },
      metric: sample(1),
      want: "unready",
    },
    {
      rule: "cpu: within the initialization period, readiness Unknown with a fresh sample counts",
      pod: {
        name: "p",
        phase: "Running",
        startTime: at(3 * MINUTE),
        ready: { status: "Unknown", lastTransitionTime: at(2 * MINUTE) },
        containers: [],
      },
      metric: sample(1),
      want: "ready",
    },
    {
      rule: "cpu: past the initialization period, a not-Ready pod that became unready later than the initial readiness delay counts",
      pod: {
        name: "p",
        phase: "Running",
        startTime: at(10 * MINUTE),
        ready: { status: "False", lastTransitionTime: at(9 * MINUTE) },
        containers: [],
      },
      metric: sample(1),
      want: "ready",
    },
    {
      rule: "cpu: past the initialization period, a not-Ready pod that has never been ready is unready",
      pod: {
        name: "p",
        phase: "Running",
        startTime: at(10 * MINUTE),
        ready: { status: "False", lastTransitionTime: at(10 * MINUTE - 20_000) },
        containers: [],
      },
      metric: sample(1),
      want: "unready",
    },
    { rule: "a Running pod without a metric is missing", pod: pod("p"), want: "missing" },
    { rule: "a Pending pod is unready, not missing, for memory too", pod: pod("p", "pending"), resource: "memory", want: "unready" },
    { rule: "a Failed pod is ignored", pod: pod("p", "failed"), metric: sample(1), want: "ignored" },
    { rule: "a pod being deleted is ignored even without a metric", pod: pod("p", "deleted"), want: "ignored" },
  ];

  for (const c of cases) {
    it(c.rule, () => {
      const metrics = new Map(c.metric ? [["p", c.metric]] : []);
      const g = groupPods([c.pod], metrics, c.resource ?? "cpu", 5 * MINUTE, 30_000, NOW_MS);
      const got = g.readyPodCount === 1 ? "ready" : g.unreadyPods.has("p") ? "unready" : g.missingPods.has("p") ? "missing" : "ignored";
      expect(got).toBe(c.want);
      if (c.want === "ignored") expect(g.ignoredPods.has("p")).toBe(true);
    });
  }
});

describe("utilization arithmetic", () => {
  it("rounds the percentage and the average toward zero", () => {
    const got = getResourceUtilizationRatio(
      new Map([
        ["a", { valueMilli: 1 }],
        ["b", { valueMilli: 0 }],
      ]),
      new Map([
        ["a", 2],
        ["b", 1],
      ]),
      50,
    );
    expect(got).toEqual({ ok: true, usageRatio: 33 / 50, utilizationPercent: 33, rawAverageMilli: 0 });
  });

  it("stays exact for totals past 2^53 milli-units", () => {
    const each = 2 ** 52;
    const got = getResourceUtilizationRatio(
      new Map([
        ["a", { valueMilli: each - 1 }],
        ["b", { valueMilli: each - 1 }],
      ]),
      new Map([
        ["a", each],
        ["b", each],
      ]),
      100,
    );
    expect(got).toMatchObject({ ok: true, utilizationPercent: 99, rawAverageMilli: each - 1 });
  });

  it("sums a pod's requests over its containers", () => {
    const p: HpaPod = {
      name: "p",
      phase: "Running",
      containers: [
        { name: "a", requestsMilli: { memory: 3 } },
        { name: "b", requestsMilli: { memory: 0 } },
      ],
    };
    expect(calculatePodRequests([p], "memory")).toEqual({ ok: true, requestsMilli: new Map([["p", 3]]) });
  });

  it("treats the tolerance band as closed at both ends", () => {
    const t = { scaleDown: 0.1, scaleUp: 0.2 };
    expect([0.89, 0.9, 1, 1.2, 1.21].map((r) => isWithinTolerances(t, r))).toEqual([false, true, true, true, false]);
  });
});
