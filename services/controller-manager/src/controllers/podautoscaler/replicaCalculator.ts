// The HPA's replica count for a Resource or ContainerResource metric, ported from Kubernetes'
// pkg/controller/podautoscaler/replica_calculator.go and metrics/utilization.go.
// Everything here is a pure function of plain data: the pods the HPA's selector matches, the
// metrics API's per-pod usage, and the current time.

/** The resources metrics-server reports. */
export type ResourceName = "cpu" | "memory";

/** A container's requests in milli-units (millicores for cpu, milli-bytes for memory), as Quantity.MilliValue(). */
export interface ContainerRequests {
  name: string;
  requestsMilli: Partial<Record<ResourceName, number>>;
}

/** What the calculator needs to know of a pod. Times are RFC 3339 strings, as the API serves them. */
export interface HpaPod {
  name: string;
  phase: string;
  deletionTimestamp?: string;
  startTime?: string;
  /** The pod's Ready condition, if it has one. */
  ready?: { status: "True" | "False" | "Unknown"; lastTransitionTime: string };
  containers: ContainerRequests[];
  /** Init containers: only restartable ones (restartPolicy Always, sidecars) count toward the pod's requests. */
  initContainers?: Array<ContainerRequests & { restartPolicy?: string }>;
}

/** One pod's usage from the resource metrics API, summed over its containers, in milli-units. */
export interface PodMetric {
  valueMilli: number;
  timestampMs: number;
  windowMs: number;
}

/** Usage by pod name (PodMetricsInfo). */
export type PodMetricsInfo = ReadonlyMap<string, PodMetric>;

/** How far the usage ratio may stray from 1 in each direction before the HPA acts. */
export interface Tolerances {
  scaleDown: number;
  scaleUp: number;
}

export interface ReplicaCalculatorOptions {
  /** --horizontal-pod-autoscaler-tolerance, for both directions. */
  tolerance?: number;
  /** The HPA's own behavior.scaleUp.tolerance / scaleDown.tolerance (HPAConfigurableTolerance); each falls back to `tolerance`. */
  tolerances?: Partial<Tolerances>;
  /** --horizontal-pod-autoscaler-cpu-initialization-period. */
  cpuInitializationPeriodMs?: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay. */
  delayOfInitialReadinessStatusMs?: number;
}

/** kube-controller-manager's defaults for the flags above. */
export const DEFAULT_TOLERANCE = 0.1;
export const DEFAULT_CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const DEFAULT_DELAY_OF_INITIAL_READINESS_STATUS_MS = 30_000;

interface BaseInput {
  /** The scale target's spec.replicas. */
  currentReplicas: number;
  resource: ResourceName;
  /** The pods the scale target's selector matches. */
  pods: readonly HpaPod[];
  metrics: PodMetricsInfo;
  nowMs: number;
  /** For a ContainerResource metric: the one container whose requests count. */
  container?: string;
  options?: ReplicaCalculatorOptions;
}

/** A Utilization target: spec.metrics[].resource.target.averageUtilization. */
export interface ResourceUtilizationInput extends BaseInput {
  targetUtilizationPercent: number;
}

/** An AverageValue target: spec.metrics[].resource.target.averageValue, in milli-units. */
export interface RawResourceInput extends BaseInput {
  targetAverageValueMilli: number;
}

/** A replica count the metric proposes, with what the HPA reports in status.currentMetrics. */
export interface ReplicaProposal {
  ok: true;
  replicas: number;
  /** currentMetrics[].resource.current.averageUtilization (Utilization targets only). */
  utilizationPercent?: number;
  /** currentMetrics[].resource.current.averageValue, in milli-units. */
  rawAverageMilli: number;
  /** The metrics' timestamp, as the metrics client reports it: the first pod metric's. */
  timestampMs: number;
}

export interface UtilizationProposal extends ReplicaProposal {
  utilizationPercent: number;
}

/** Why no replica count came out of this metric; the HPA sets ScalingActive False with it. */
export interface MetricFailure {
  ok: false;
  /** The ScalingActive condition's reason and the Warning event's reason. */
  reason: "FailedGetResourceMetric" | "FailedGetContainerResourceMetric";
  /** The replica calculator's error, in Kubernetes' words. */
  message: string;
  /** The error as the controller words it in the event: "failed to get cpu utilization: <message>". */
  eventMessage: string;
  /** The ScalingActive condition's message: "the HPA was unable to compute the replica count: <eventMessage>". */
  conditionMessage: string;
}

/**
 * The failure for a Resource (or, with `container`, ContainerResource) metric, worded as the HPA
 * controller words it (computeStatusForResourceMetricGeneric, getUnableComputeReplicaCountCondition).
 * Exported so a failed metrics API call reads the same, e.g. with
 * message "unable to get metrics for resource cpu: <error>".
 */
export function metricFailure(
  resource: ResourceName,
  targetType: "Utilization" | "AverageValue",
  container: string | undefined,
  message: string,
): MetricFailure {
  const eventMessage = `failed to get ${resource} ${targetType === "Utilization" ? "utilization" : "usage"}: ${message}`;
  return {
    ok: false,
    reason: container ? "FailedGetContainerResourceMetric" : "FailedGetResourceMetric",
    message,
    eventMessage,
    conditionMessage: `the HPA was unable to compute the replica count: ${eventMessage}`,
  };
}

/** A usage ratio inside [1 - scaleDown, 1 + scaleUp] is close enough to the target to leave the replicas alone. */
export function isWithinTolerances(t: Tolerances, usageRatio: number): boolean {
  return 1 - t.scaleDown <= usageRatio && usageRatio <= 1 + t.scaleUp;
}

function tolerancesOf(options: ReplicaCalculatorOptions | undefined): Tolerances {
  const tolerance = options?.tolerance ?? DEFAULT_TOLERANCE;
  return { scaleDown: options?.tolerances?.scaleDown ?? tolerance, scaleUp: options?.tolerances?.scaleUp ?? tolerance };
}

// Totals are summed as BigInt, as Go sums int64: memory in milli-bytes times 100 passes 2^53 once
// the pods' usage adds up to about 90 GB, past which doubles would round the percentage.
const big = (milli: number) => BigInt(Math.ceil(milli));

/** How the pods split for the calculation (groupPods). */
export interface PodGroups {
  /** Pods whose metric counts as it is. */
  readyPodCount: number;
  /** Pending pods, and for cpu pods not yet ready or still warming up: on a scale-up they count as using nothing. */
  unreadyPods: Set<string>;
  /** Running pods with no metric: they count as using nothing on a scale-up and their request (or the target) on a scale-down. */
  missingPods: Set<string>;
  /** Pods being deleted and failed pods: left out entirely. */
  ignoredPods: Set<string>;
}

/**
 * Sorts the pods as Kubernetes' groupPods does: deleted and Failed pods are ignored; Pending pods
 * are unready; a pod without a metric is missing. For cpu only, a pod is also unready when it has
 * no Ready condition or start time; while within the cpu initialization period after its start,
 * when it is not Ready or its metric's window began before it last changed readiness (the sample
 * may cover its start-up burst); after that period, when it is not Ready and has never been Ready
 * (its Ready condition last changed within the initial readiness delay after start).
 */
export function groupPods(
  pods: readonly HpaPod[],
  metrics: PodMetricsInfo,
  resource: ResourceName,
  cpuInitializationPeriodMs: number,
  delayOfInitialReadinessStatusMs: number,
  nowMs: number,
): PodGroups {
  const groups: PodGroups = { readyPodCount: 0, unreadyPods: new Set(), missingPods: new Set(), ignoredPods: new Set() };
  for (const pod of pods) {
    if (pod.deletionTimestamp || pod.phase === "Failed") {
      groups.ignoredPods.add(pod.name);
      continue;
    }
    if (pod.phase === "Pending") {
      groups.unreadyPods.add(pod.name);
      continue;
    }
    const metric = metrics.get(pod.name);
    if (!metric) {
      groups.missingPods.add(pod.name);
      continue;
    }
    if (resource === "cpu" && isCpuUnready(pod, metric, cpuInitializationPeriodMs, delayOfInitialReadinessStatusMs, nowMs)) {
      groups.unreadyPods.add(pod.name);
      continue;
    }
    groups.readyPodCount++;
  }
  return groups;
}

function isCpuUnready(pod: HpaPod, metric: PodMetric, cpuInitializationPeriodMs: number, delayMs: number, nowMs: number): boolean {
  const startMs = pod.startTime ? Date.parse(pod.startTime) : Number.NaN;
  if (!pod.ready || Number.isNaN(startMs)) return true;
  // An unparsable transition time reads as Go's zero time: long ago.
  const parsed = Date.parse(pod.ready.lastTransitionTime);
  const transitionMs = Number.isNaN(parsed) ? Number.NEGATIVE_INFINITY : parsed;
  if (startMs + cpuInitializationPeriodMs > nowMs) {
    return pod.ready.status === "False" || metric.timestampMs < transitionMs + metric.windowMs;
  }
  return pod.ready.status === "False" && startMs + delayMs > transitionMs;
}

/** Each pod's request for the resource, or Kubernetes' error for the first pod or container that lacks one. */
export type PodRequests = { ok: true; requestsMilli: Map<string, number> } | { ok: false; message: string };

/**
 * Every pod's request for the resource (calculateRequests / calculatePodRequestsFromContainers):
 * the sum over its containers and restartable init containers, or with `container` that
 * container's alone. Every container counted must request the resource.
 */
export function calculatePodRequests(pods: readonly HpaPod[], resource: ResourceName, container?: string): PodRequests {
  const requestsMilli = new Map<string, number>();
  for (const pod of pods) {
    const containers = [...pod.containers, ...(pod.initContainers ?? []).filter((c) => c.restartPolicy === "Always")];
    let request = 0;
    let found = false;
    for (const c of containers) {
      if (container && c.name !== container) continue;
      const value = c.requestsMilli[resource];
      if (value === undefined) return { ok: false, message: `missing request for ${resource} in container ${c.name} of Pod ${pod.name}` };
      request += value;
      // Container names are unique within a pod.
      if (container) {
        found = true;
        break;
      }
    }
    if (container && !found) return { ok: false, message: `container ${container} not found in Pod ${pod.name}` };
    requestsMilli.set(pod.name, request);
  }
  return { ok: true, requestsMilli };
}

/** The metrics without the named pods' (removeMetricsForPods); the input map is left as it was. */
export function removeMetricsForPods<V>(metrics: ReadonlyMap<string, V>, pods: ReadonlySet<string>): Map<string, V> {
  const kept = new Map(metrics);
  for (const name of pods) kept.delete(name);
  return kept;
}

export type UtilizationRatio =
  | { ok: true; usageRatio: number; utilizationPercent: number; rawAverageMilli: number }
  | { ok: false; message: string };

/**
 * The pods' summed usage over their summed requests, as a whole percentage rounded toward zero,
 * and that over the target (GetResourceUtilizationRatio). Metrics of pods without a request are
 * left out: they belong to pods the selector no longer matches.
 */
export function getResourceUtilizationRatio(
  metrics: ReadonlyMap<string, { valueMilli: number }>,
  requestsMilli: ReadonlyMap<string, number>,
  targetUtilizationPercent: number,
): UtilizationRatio {
  let metricsTotal = 0n;
  let requestsTotal = 0n;
  let entries = 0n;
  for (const [podName, metric] of metrics) {
    const request = requestsMilli.get(podName);
    if (request === undefined) continue;
    metricsTotal += big(metric.valueMilli);
    requestsTotal += big(request);
    entries++;
  }
  // With no pod in common, or only zero requests, there is nothing to divide by.
  if (requestsTotal === 0n) return { ok: false, message: "no metrics returned matched known pods" };
  const utilizationPercent = Number((metricsTotal * 100n) / requestsTotal);
  return {
    ok: true,
    usageRatio: utilizationPercent / targetUtilizationPercent,
    utilizationPercent,
    rawAverageMilli: Number(metricsTotal / entries),
  };
}

/** The pods' average usage, rounded toward zero, and that over the target (GetMetricUsageRatio). */
export function getMetricUsageRatio(
  metrics: ReadonlyMap<string, { valueMilli: number }>,
  targetUsageMilli: number,
): { usageRatio: number; usageMilli: number } {
  let total = 0n;
  for (const metric of metrics.values()) total += big(metric.valueMilli);
  const usageMilli = Number(total / BigInt(metrics.size));
  return { usageRatio: usageMilli / targetUsageMilli, usageMilli };
}

interface Prepared {
  groups: PodGroups;
  /** The metrics of the pods that count: ignored and unready pods' removed. */
  metrics: Map<string, PodMetric>;
  timestampMs: number;
}

/** The checks and grouping both target types share, in upstream's order. */
function prepare(input: BaseInput): Prepared | { ok: false; message: string } {
  const first = input.metrics.values().next();
  // The metrics client fails on an empty list before the calculator sees it.
  if (first.done)
    return { ok: false, message: `unable to get metrics for resource ${input.resource}: no metrics returned from resource metrics API` };
  if (input.pods.length === 0) return { ok: false, message: "no pods returned by selector while calculating replica count" };
  const groups = groupPods(
    input.pods,
    input.metrics,
    input.resource,
    input.options?.cpuInitializationPeriodMs ?? DEFAULT_CPU_INITIALIZATION_PERIOD_MS,
    input.options?.delayOfInitialReadinessStatusMs ?? DEFAULT_DELAY_OF_INITIAL_READINESS_STATUS_MS,
    input.nowMs,
  );
  const metrics = removeMetricsForPods(removeMetricsForPods(input.metrics, groups.ignoredPods), groups.unreadyPods);
  if (metrics.size === 0) return { ok: false, message: "did not receive metrics for targeted pods (pods might be unready)" };
  return { groups, metrics, timestampMs: first.value.timestampMs };
}

/** A proposal that changes the scale direction once missing and unready pods count, or stays within tolerance, keeps the current count. */
/**
 * The count from a usage ratio, shared by both target types: ceil(ratio × ready pods) unless
 * within tolerance; with pods unready or without metrics, the ratio worked out again with them
 * counted against the direction of the change: on a scale-down a pod without metrics uses
 * `missingUsageMilli` (Utilization: its request at max(100%, target); AverageValue: the target),
 * on a scale-up nothing, and unready pods nothing on a scale-up. `ratioOf` may fail with a message.
 */
function replicasFromRatio(
  currentReplicas: number,
  tolerances: Tolerances,
  groups: PodGroups,
  metrics: ReadonlyMap<string, { valueMilli: number }>,
  usageRatio: number,
  how: { missingUsageMilli: (pod: string) => number; ratioOf: (metrics: ReadonlyMap<string, { valueMilli: number }>) => number | string },
): number | string {
  const scaleUpWithUnready = groups.unreadyPods.size > 0 && usageRatio > 1;
  if (!scaleUpWithUnready && groups.missingPods.size === 0) {
    if (isWithinTolerances(tolerances, usageRatio)) return currentReplicas;
    return Math.ceil(usageRatio * groups.readyPodCount);
  }
  const rebalanced = new Map<string, { valueMilli: number }>(metrics);
  if (usageRatio < 1) for (const name of groups.missingPods) rebalanced.set(name, { valueMilli: how.missingUsageMilli(name) });
  else if (usageRatio > 1) for (const name of groups.missingPods) rebalanced.set(name, { valueMilli: 0 });
  if (scaleUpWithUnready) for (const name of groups.unreadyPods) rebalanced.set(name, { valueMilli: 0 });
  const newRatio = how.ratioOf(rebalanced);
  if (typeof newRatio === "string") return newRatio;
  return rebalancedReplicas(currentReplicas, tolerances, usageRatio, newRatio, rebalanced.size);
}

function rebalancedReplicas(
  currentReplicas: number,
  tolerances: Tolerances,
  usageRatio: number,
  newUsageRatio: number,
  podsCounted: number,
): number {
  if (isWithinTolerances(tolerances, newUsageRatio) || (usageRatio < 1 && newUsageRatio > 1) || (usageRatio > 1 && newUsageRatio < 1)) {
    return currentReplicas;
  }
  const newReplicas = Math.ceil(newUsageRatio * podsCounted);
  // Counting more pods must not turn a scale-down into a scale-up, or the other way round.
  if ((newUsageRatio < 1 && newReplicas > currentReplicas) || (newUsageRatio > 1 && newReplicas < currentReplicas)) return currentReplicas;
  return newReplicas;
}

/**
 * The replica count for a Utilization target (GetResourceReplicas): ceil(ratio × ready pods),
 * where ratio is the pods' utilization of their requests over the target, and nothing changes
 * while the ratio is within tolerance. When pods lack metrics or are unready, the ratio is worked
 * out again with them counted conservatively: on a scale-down a pod without metrics uses its
 * request (or the target, for targets above 100%); on a scale-up it and every unready pod use
 * nothing. If that second ratio is within tolerance or points the other way, nothing changes.
 */
export function getResourceReplicas(input: ResourceUtilizationInput): UtilizationProposal | MetricFailure {
  const fail = (message: string) => metricFailure(input.resource, "Utilization", input.container, message);
  const prepared = prepare(input);
  if ("ok" in prepared) return fail(prepared.message);
  const { groups, metrics, timestampMs } = prepared;
  const requests = calculatePodRequests(input.pods, input.resource, input.container);
  if (!requests.ok) return fail(requests.message);
  const { requestsMilli } = requests;
  const target = input.targetUtilizationPercent;
  const ratio = getResourceUtilizationRatio(metrics, requestsMilli, target);
  if (!ratio.ok) return fail(ratio.message);
  const { usageRatio, utilizationPercent, rawAverageMilli } = ratio;
  const tolerances = tolerancesOf(input.options);
  const proposal = (replicas: number): UtilizationProposal => ({ ok: true, replicas, utilizationPercent, rawAverageMilli, timestampMs });

  const fallbackPercent = BigInt(Math.max(100, target));
  const replicas = replicasFromRatio(input.currentReplicas, tolerances, groups, metrics, usageRatio, {
    missingUsageMilli: (name) => Number((big(requestsMilli.get(name) ?? 0) * fallbackPercent) / 100n),
    ratioOf: (rebalanced) => {
      const r = getResourceUtilizationRatio(rebalanced, requestsMilli, target);
      return r.ok ? r.usageRatio : r.message;
    },
  });
  return typeof replicas === "string" ? fail(replicas) : proposal(replicas);
}

/**
 * The replica count for an AverageValue target (GetRawResourceReplicas / calcPlainMetricReplicas):
 * as getResourceReplicas, with the pods' average usage over the target value as the ratio and no
 * requests involved; on a scale-down a pod without metrics counts as using exactly the target.
 */
export function getRawResourceReplicas(input: RawResourceInput): ReplicaProposal | MetricFailure {
  const fail = (message: string) => metricFailure(input.resource, "AverageValue", input.container, message);
  const prepared = prepare(input);
  if ("ok" in prepared) return fail(prepared.message);
  const { groups, metrics, timestampMs } = prepared;
  const target = input.targetAverageValueMilli;
  const { usageRatio, usageMilli } = getMetricUsageRatio(metrics, target);
  const tolerances = tolerancesOf(input.options);
  const proposal = (replicas: number): ReplicaProposal => ({ ok: true, replicas, rawAverageMilli: usageMilli, timestampMs });

  const replicas = replicasFromRatio(input.currentReplicas, tolerances, groups, metrics, usageRatio, {
    missingUsageMilli: () => target,
    ratioOf: (rebalanced) => getMetricUsageRatio(rebalanced, target).usageRatio,
  });
  return proposal(replicas as number);
}
