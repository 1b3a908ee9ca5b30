import { clone, create, equals } from "@bufbuild/protobuf";
import {
  HorizontalPodAutoscalerConditionSchema,
  HorizontalPodAutoscalerSchema,
  HorizontalPodAutoscalerStatusSchema,
  LabelSelector,
  MetricStatusSchema,
  formatTime,
  milliValue,
  podCondition,
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerCondition,
  type Pod,
  type PodMetrics,
  type Scale,
} from "@kubelab/api";
import { splitKey, writeStatus, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";
import { replicasForMetrics, type ResourceMetrics, type ResourceMetricStatus } from "./metricsProposal.js";
import { ScaleHistory, type HpaCondition } from "./normalization.js";
import type { HpaPod, PodMetric, ReplicaCalculatorOptions, ResourceName } from "./replicaCalculator.js";

export interface HorizontalControllerOptions {
  /** --horizontal-pod-autoscaler-sync-period. */
  syncPeriodSeconds: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization. */
  downscaleStabilizationSeconds: number;
  /** --horizontal-pod-autoscaler-tolerance. */
  tolerance: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period. */
  cpuInitializationPeriodSeconds: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay. */
  initialReadinessDelaySeconds: number;
  /** The clock, for tests. */
  nowMs?: () => number;
}

/** The kinds with a scale subresource here, by scaleTargetRef.kind. */
const SCALE_RESOURCES: Record<string, "deployments" | "replicasets"> = { Deployment: "deployments", ReplicaSet: "replicasets" };

type ConditionType = "AbleToScale" | "ScalingActive" | "ScalingLimited";

/** The pod as the replica calculator sees it. */
export function hpaPodOf(pod: Pod): HpaPod {
  const requests = (c: { name: string; resources?: { requests: Record<string, string> } }) => {
    const r = c.resources?.requests ?? {};
    const requestsMilli: Partial<Record<ResourceName, number>> = {};
    if (r.cpu) requestsMilli.cpu = milliValue(r.cpu);
    if (r.memory) requestsMilli.memory = milliValue(r.memory);
    return { name: c.name, requestsMilli };
  };
  const ready = podCondition(pod, "Ready");
  return {
    name: pod.metadata?.name ?? "",
    phase: pod.status?.phase ?? "",
    deletionTimestamp: pod.metadata?.deletionTimestamp || undefined,
    startTime: pod.status?.startTime || undefined,
    ready: ready ? { status: ready.status as "True" | "False" | "Unknown", lastTransitionTime: ready.lastTransitionTime } : undefined,
    containers: (pod.spec?.containers ?? []).map(requests),
    initContainers: (pod.spec?.initContainers ?? []).map((c) => ({ ...requests(c), restartPolicy: c.restartPolicy || undefined })),
  };
}

/** The metrics API's pod usage of one resource, summed over containers, by pod name (the HPA's metrics client). */
export function podMetricsInfo(items: readonly PodMetrics[], resource: ResourceName): ResourceMetrics {
  const out = new Map<string, PodMetric>();
  for (const m of items) {
    let valueMilli = 0;
    for (const c of m.containers) {
      const q = c.usage[resource];
      if (q === undefined)
        return {
          ok: false,
          error: `missing resource metric ${resource} for container ${c.name} in pod ${m.metadata?.namespace}/${m.metadata?.name}`,
        };
      valueMilli += milliValue(q);
    }
    out.set(m.metadata?.name ?? "", { valueMilli, timestampMs: Date.parse(m.timestamp), windowMs: parseWindowMs(m.window) });
  }
  if (out.size === 0) return { ok: false, error: "no metrics returned from resource metrics API" };
  return { ok: true, metrics: out };
}

const parseWindowMs = (w: string) => {
  const m = /^([\d.]+)s$/.exec(w);
  return m ? Number(m[1]) * 1000 : 0;
};

/** Sets a condition, keeping its lastTransitionTime while its status stays (setCondition in horizontal.go). */
function setCondition(
  hpa: HorizontalPodAutoscaler,
  type: ConditionType,
  status: "True" | "False",
  reason: string,
  message: string,
  now: string,
): void {
  const st = (hpa.status ??= create(HorizontalPodAutoscalerStatusSchema));
  const old = st.conditions.find((c) => c.type === type);
  const next: HorizontalPodAutoscalerCondition = create(HorizontalPodAutoscalerConditionSchema, {
    type,
    status,
    reason,
    message,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
  });
  st.conditions = old ? st.conditions.map((c) => (c === old ? next : c)) : [...st.conditions, next];
}

const applyCondition = (hpa: HorizontalPodAutoscaler, c: HpaCondition, now: string) =>
  setCondition(hpa, c.type, c.status, c.reason, c.message, now);

/**
 * Kubernetes' HorizontalPodAutoscaler controller (pkg/controller/podautoscaler/horizontal.go),
 * once per --horizontal-pod-autoscaler-sync-period per HPA: reads the target's scale subresource,
 * asks the metrics API (metrics-server, through the API server) for the target's pods' usage,
 * proposes a replica count per metric (replicaCalculator), keeps the largest, stabilizes and
 * limits it (ScaleHistory: the stabilization windows and the behavior's policies, or the old rules
 * without a behavior), writes the new count through the scale subresource, and reports
 * currentMetrics, the AbleToScale / ScalingActive / ScalingLimited conditions and events
 * (SuccessfulRescale "New size: 4; reason: cpu resource utilization (percentage of request) above
 * target"). The recommendation history lives in this process: a controller-manager that takes
 * over starts it afresh, as Kubernetes' does.
 */
export class HorizontalController extends QueueController {
  readonly name = "horizontal-pod-autoscaler";
  private readonly hpas: Informer<HorizontalPodAutoscaler>;
  private readonly pods: Informer<Pod>;
  private readonly history = new ScaleHistory();
  private readonly calculator: ReplicaCalculatorOptions;
  private readonly now: () => number;

  constructor(
    ctx: ControllerContext,
    private readonly opts: HorizontalControllerOptions,
  ) {
    super(ctx);
    this.now = opts.nowMs ?? Date.now;
    this.calculator = {
      tolerance: opts.tolerance,
      cpuInitializationPeriodMs: opts.cpuInitializationPeriodSeconds * 1000,
      delayOfInitialReadinessStatusMs: opts.initialReadinessDelaySeconds * 1000,
    };
    this.hpas = ctx.informers.for<HorizontalPodAutoscaler>("horizontalpodautoscalers");
    this.pods = ctx.informers.for<Pod>("pods");
    // Each HPA is looked at once per sync period (the resync); a new or changed spec at once. The
    // controller's own status writes change no spec, so they do not bring the next look forward.
    this.hpas.addEventHandler({
      onAdd: (h) => this.enqueue(h),
      onUpdate: (old, h) => {
        if (old.metadata?.generation !== h.metadata?.generation) this.enqueue(h);
      },
      onDelete: (h) => this.history.forget(`${h.metadata?.namespace}/${h.metadata?.name}`),
    });
  }

  protected allKeys(): string[] {
    return this.hpas.indexer.keys();
  }

  override run(workers: number): Promise<void> {
    return super.run(workers, this.opts.syncPeriodSeconds * 1000);
  }

  async reconcile(key: string): Promise<void> {
    const cached = this.hpas.get(key);
    if (!cached) {
      this.history.forget(key);
      return;
    }
    if (cached.metadata?.deletionTimestamp) return;
    const original = clone(HorizontalPodAutoscalerSchema, cached);
    const hpa = clone(HorizontalPodAutoscalerSchema, cached);
    await this.reconcileAutoscaler(key, hpa);
    if (!equals(HorizontalPodAutoscalerStatusSchema, original.status ?? create(HorizontalPodAutoscalerStatusSchema), hpa.status!)) {
      await writeStatus(this.ctx.client, original, hpa.status!);
    }
  }

  /** reconcileAutoscaler: `hpa` (a copy) comes out with the status to write. */
  private async reconcileAutoscaler(key: string, hpa: HorizontalPodAutoscaler): Promise<void> {
    const now = formatTime(this.now());
    const spec = hpa.spec!;
    const ref = spec.scaleTargetRef;
    const reference = `${ref?.kind}/${ref?.name}`;
    const { namespace } = splitKey(key);
    const st = (hpa.status ??= create(HorizontalPodAutoscalerStatusSchema));
    st.observedGeneration = hpa.metadata?.generation;

    const resource = SCALE_RESOURCES[ref?.kind ?? ""];
    let scale: Scale;
    try {
      if (!resource) throw new Error(`no scale subresource for kind ${ref?.kind}: only Deployment and ReplicaSet are scalable here`);
      scale = await this.ctx.client.getScale(resource, namespace, ref!.name);
    } catch (e) {
      const msg = (e as Error).message;
      this.ctx.recorder.event(hpa, "Warning", "FailedGetScale", msg);
      setCondition(
        hpa,
        "AbleToScale",
        "False",
        "FailedGetScale",
        `the HPA controller was unable to get the target's current scale: ${msg}`,
        now,
      );
      return;
    }
    setCondition(hpa, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale", now);

    const currentReplicas = scale.spec?.replicas ?? 0;
    const nowMs = this.now();
    this.history.recordInitialRecommendation(key, currentReplicas, nowMs);
    const minReplicas = spec.minReplicas ?? 1;
    let desiredReplicas = 0;
    let rescaleReason = "";
    let statuses: ResourceMetricStatus[] = [];
    if (currentReplicas === 0 && minReplicas !== 0) {
      // Autoscaling is disabled for this resource.
      setCondition(
        hpa,
        "ScalingActive",
        "False",
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero",
        now,
      );
    } else if (currentReplicas > spec.maxReplicas) {
      rescaleReason = "Current number of replicas above Spec.MaxReplicas";
      desiredReplicas = spec.maxReplicas;
    } else if (currentReplicas < minReplicas) {
      rescaleReason = "Current number of replicas below Spec.MinReplicas";
      desiredReplicas = minReplicas;
    } else {
      const proposal = await this.proposeReplicas(hpa, namespace, scale, currentReplicas, nowMs);
      statuses = proposal.statuses;
      if (!proposal.ok) {
        setCondition(hpa, "ScalingActive", "False", proposal.condition.reason, proposal.condition.message, now);
        for (const f of proposal.failures) this.ctx.recorder.event(hpa, "Warning", f.reason, f.eventMessage);
        this.ctx.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", proposal.eventMessage);
        this.setStatus(hpa, currentReplicas, st.desiredReplicas, statuses, false, now);
        return;
      }
      setCondition(
        hpa,
        "ScalingActive",
        "True",
        "ValidMetricFound",
        `the HPA was able to successfully calculate a replica count from ${proposal.metricName}`,
        now,
      );
      if (proposal.replicas > currentReplicas) rescaleReason = `${proposal.metricName} above target`;
      if (proposal.replicas < currentReplicas) rescaleReason = "All metrics below target";
      const normalized = this.history.normalize(
        {
          key,
          currentReplicas,
          desiredReplicas: proposal.replicas,
          minReplicas,
          maxReplicas: spec.maxReplicas,
          downscaleStabilizationWindowSeconds: this.opts.downscaleStabilizationSeconds,
          behavior: spec.behavior,
        },
        nowMs,
      );
      applyCondition(hpa, normalized.ableToScale, now);
      applyCondition(hpa, normalized.scalingLimited, now);
      desiredReplicas = normalized.desiredReplicas;
    }

    const rescale = desiredReplicas !== currentReplicas && !(currentReplicas === 0 && minReplicas !== 0);
    if (!rescale) {
      this.setStatus(hpa, currentReplicas, currentReplicas, statuses, false, now);
      return;
    }
    try {
      await this.ctx.client.updateScale(resource!, { ...scale, spec: { ...scale.spec!, replicas: desiredReplicas } });
    } catch (e) {
      const msg = (e as Error).message;
      this.ctx.recorder.event(hpa, "Warning", "FailedRescale", `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${msg}`);
      setCondition(
        hpa,
        "AbleToScale",
        "False",
        "FailedUpdateScale",
        `the HPA controller was unable to update the target scale: ${msg}`,
        now,
      );
      this.setStatus(hpa, currentReplicas, st.desiredReplicas, statuses, false, now);
      return;
    }
    setCondition(
      hpa,
      "AbleToScale",
      "True",
      "SucceededRescale",
      `the HPA controller was able to update the target scale to ${desiredReplicas}`,
      now,
    );
    this.ctx.recorder.event(hpa, "Normal", "SuccessfulRescale", `New size: ${desiredReplicas}; reason: ${rescaleReason}`);
    this.history.storeScaleEvent(spec.behavior, key, currentReplicas, desiredReplicas, nowMs);
    this.ctx.log.info("rescaled", { hpa: key, reference, from: currentReplicas, to: desiredReplicas, reason: rescaleReason });
    this.setStatus(hpa, currentReplicas, desiredReplicas, statuses, true, now);
  }

  /** The target's pods (by the scale's selector, from the cache) and their usage (from the metrics API), through the replica calculator. */
  private async proposeReplicas(hpa: HorizontalPodAutoscaler, namespace: string, scale: Scale, currentReplicas: number, nowMs: number) {
    const selectorText = scale.status?.selector ?? "";
    const selector = LabelSelector.parse(selectorText);
    const pods = this.pods.indexer
      .byIndex("namespace", namespace)
      .filter((p) => selector.matches(p.metadata?.labels))
      .map(hpaPodOf);
    let items: PodMetrics[] | undefined;
    let listError = "";
    const needed = new Set((hpa.spec?.metrics ?? []).map((m) => m.resource?.name));
    if (needed.size > 0) {
      try {
        items = (await this.ctx.client.list<PodMetrics>("pods.metrics.k8s.io", { namespace, labelSelector: selectorText })).items;
      } catch (e) {
        listError = `unable to fetch metrics from resource metrics API: ${(e as Error).message}`;
      }
    }
    return replicasForMetrics({
      metrics: hpa.spec?.metrics ?? [],
      currentReplicas,
      pods,
      usage: (resource) => (items ? podMetricsInfo(items, resource) : { ok: false, error: listError }),
      nowMs,
      options: this.calculator,
    });
  }

  /** setStatus: the replicas and metrics seen; lastScaleTime moves only with a rescale. */
  private setStatus(
    hpa: HorizontalPodAutoscaler,
    currentReplicas: number,
    desiredReplicas: number,
    statuses: ResourceMetricStatus[],
    rescaled: boolean,
    now: string,
  ): void {
    const st = hpa.status!;
    st.currentReplicas = currentReplicas;
    st.desiredReplicas = desiredReplicas;
    st.currentMetrics = statuses.map((s) => create(MetricStatusSchema, s));
    if (rescaled) st.lastScaleTime = now;
  }
}
