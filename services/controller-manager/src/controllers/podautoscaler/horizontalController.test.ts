import { create } from "@bufbuild/protobuf";
import {
  DeploymentSchema,
  HorizontalPodAutoscalerSchema,
  PodMetricsSchema,
  PodSchema,
  type Deployment,
  type HorizontalPodAutoscaler,
} from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { newFixture } from "../testing/fakes.js";
import { HorizontalController } from "./horizontalController.js";

// After sample-controller's controller_test.go: the HPA, its Deployment, pods and PodMetrics fed
// by hand; reconcile called with a clock of the test's; the scale written, the status and the
// events compared with Kubernetes'.

const NOW_MS = Date.parse("2026-03-01T12:00:00Z");
const iso = (offsetS: number) => new Date(NOW_MS + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
const KEY = "default/web";

const deployment = (replicas: number) =>
  create(DeploymentSchema, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "uid-web", resourceVersion: "3" },
    spec: { replicas, selector: { matchLabels: { app: "web" } } },
  });

const hpa = (spec: Record<string, unknown> = {}) =>
  create(HorizontalPodAutoscalerSchema, {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default", uid: "uid-hpa", generation: 1, resourceVersion: "4" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
      ...spec,
    },
  } as never);

/** A Running pod, Ready for ten minutes, requesting `cpuRequest`. */
const pod = (name: string, cpuRequest?: string) =>
  create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "web" }, uid: `uid-${name}` },
    spec: { containers: [{ name: "app", image: "burner", resources: cpuRequest ? { requests: { cpu: cpuRequest } } : undefined }] },
    status: { phase: "Running", startTime: iso(-600), conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(-590) }] },
  });

const metrics = (name: string, cpu: string) =>
  create(PodMetricsSchema, {
    apiVersion: "metrics.k8s.io/v1beta1",
    kind: "PodMetrics",
    metadata: { name, namespace: "default", labels: { app: "web" } },
    timestamp: iso(-1),
    window: "5s",
    containers: [{ name: "app", usage: { cpu, memory: "10Mi" } }],
  });

function setup(...objs: Parameters<ReturnType<typeof newFixture>["seed"]>) {
  const f = newFixture(...objs);
  let nowMs = NOW_MS;
  const c = new HorizontalController(f.ctx, {
    syncPeriodSeconds: 15,
    downscaleStabilizationSeconds: 300,
    tolerance: 0.1,
    cpuInitializationPeriodSeconds: 300,
    initialReadinessDelaySeconds: 30,
    nowMs: () => nowMs,
  });
  const status = () => f.client.object("horizontalpodautoscalers", "default", "web") as HorizontalPodAutoscaler;
  const replicas = () => (f.client.object("deployments", "default", "web") as Deployment).spec?.replicas;
  const condition = (type: string) => status().status?.conditions.find((x) => x.type === type);
  return { f, c, status, replicas, condition, advance: (s: number) => (nowMs += s * 1000) };
}

describe("HorizontalController.reconcile", () => {
  it("scales up to ceil(current × usage / target) and says why, in Kubernetes' words", async () => {
    // 2 pods at 100m of a 100m request: 100% against 50% → 4.
    const t = setup(hpa(), deployment(2), pod("a", "100m"), pod("b", "100m"), metrics("a", "100m"), metrics("b", "100m"));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(4);
    expect(t.f.recorder.lines()).toContain(
      "Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target",
    );
    const st = t.status().status!;
    expect([st.currentReplicas, st.desiredReplicas]).toEqual([2, 4]);
    expect(st.currentMetrics[0]?.resource?.current).toMatchObject({ averageUtilization: 100, averageValue: "100m" });
    expect(st.lastScaleTime).toBe(iso(0));
    expect(t.condition("AbleToScale")).toMatchObject({
      status: "True",
      reason: "SucceededRescale",
      message: "the HPA controller was able to update the target scale to 4",
    });
    expect(t.condition("ScalingActive")).toMatchObject({
      status: "True",
      reason: "ValidMetricFound",
      message: "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
    });
    expect(t.condition("ScalingLimited")).toMatchObject({ status: "False", reason: "DesiredWithinRange" });
  });

  it("leaves the scale alone within the tolerance, and writes only the status", async () => {
    const t = setup(hpa(), deployment(2), pod("a", "100m"), pod("b", "100m"), metrics("a", "52m"), metrics("b", "54m"));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(2);
    expect(t.f.client.writes().map((w) => `${w.verb} ${w.resource}`)).toEqual(["updateStatus horizontalpodautoscalers"]);
    expect(t.status().status?.desiredReplicas).toBe(2);
    expect(t.f.recorder.lines()).toEqual([]);
  });

  it("holds a scale-down for the stabilization window, then takes the highest recommendation of it", async () => {
    const t = setup(hpa(), deployment(4), ...["a", "b", "c", "d"].flatMap((n) => [pod(n, "100m"), metrics(n, "10m")]));
    await t.c.reconcile(KEY);
    // The first look records the current 4 as a recommendation (recordInitialRecommendation).
    expect(t.replicas()).toBe(4);
    expect(t.condition("AbleToScale")).toMatchObject({ reason: "ScaleDownStabilized" });
    t.advance(301);
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(1);
    expect(t.f.recorder.lines()).toContain("Normal SuccessfulRescale New size: 1; reason: All metrics below target");
  });

  it("limits a scale-up without a behavior to twice the pods, or 4", async () => {
    const t = setup(hpa(), deployment(1), pod("a", "100m"), metrics("a", "900m"));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(4);
    expect(t.condition("ScalingLimited")).toMatchObject({
      status: "True",
      reason: "ScaleUpLimit",
      message: "the desired replica count is increasing faster than the maximum scale rate",
    });
  });

  it("reports a pod without a CPU request as FailedGetResourceMetric and does not scale", async () => {
    const t = setup(hpa(), deployment(1), pod("a"), metrics("a", "900m"));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(1);
    expect(t.condition("ScalingActive")).toMatchObject({
      status: "False",
      reason: "FailedGetResourceMetric",
      message:
        "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod a",
    });
    expect(t.f.recorder.lines()).toContain(
      "Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: missing request for cpu in container app of Pod a",
    );
  });

  it("says so when the metrics API has nothing, and keeps the last desired count", async () => {
    const t = setup(hpa(), deployment(2), pod("a", "100m"), pod("b", "100m"));
    await t.c.reconcile(KEY);
    expect(t.condition("ScalingActive")?.message).toBe(
      "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    );
    expect(t.status().status?.currentReplicas).toBe(2);
  });

  it("brings the replicas within min and max before looking at metrics", async () => {
    const t = setup(hpa({ minReplicas: 3, maxReplicas: 5 }), deployment(8));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(5);
    expect(t.f.recorder.lines()).toContain(
      "Normal SuccessfulRescale New size: 5; reason: Current number of replicas above Spec.MaxReplicas",
    );
  });

  it("does not scale a target scaled to zero", async () => {
    const t = setup(hpa(), deployment(0));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(0);
    expect(t.condition("ScalingActive")).toMatchObject({
      status: "False",
      reason: "ScalingDisabled",
      message: "scaling is disabled since the replica count of the target is zero",
    });
  });

  it("cannot scale a kind without a scale subresource, and says so", async () => {
    const t = setup(hpa({ scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: "db" } }));
    await t.c.reconcile(KEY);
    expect(t.condition("AbleToScale")).toMatchObject({ status: "False", reason: "FailedGetScale" });
    expect(t.f.recorder.lines()[0]).toMatch(/^Warning FailedGetScale no scale subresource for kind StatefulSet/);
  });

  it("follows a behavior's policies: one pod per minute up", async () => {
    const behavior = {
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] },
    };
    const t = setup(hpa({ behavior }), deployment(1), pod("a", "100m"), metrics("a", "400m"));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(2);
    // Within the minute, no further step up even though the metric still asks for more.
    t.advance(30);
    t.f.seed(pod("b", "100m"), metrics("b", "400m"));
    await t.c.reconcile(KEY);
    expect(t.replicas()).toBe(2);
    expect(t.condition("ScalingLimited")).toMatchObject({ status: "True", reason: "ScaleUpLimit" });
  });
});
