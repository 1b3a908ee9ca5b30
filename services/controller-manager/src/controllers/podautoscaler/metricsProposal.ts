import { milliValue, type MetricSpec } from "@kubelab/api";
import {
  getRawResourceReplicas,
  getResourceReplicas,
  metricFailure,
  type HpaPod,
  type MetricFailure,
  type PodMetricsInfo,
  type ReplicaCalculatorOptions,
  type ResourceName,
} from "./replicaCalculator.js";

/** status.currentMetrics[] of one Resource metric, as plain data. */
export interface ResourceMetricStatus {
  type: "Resource";
  resource: { name: string; current: { averageUtilization?: number; averageValue: string } };
}

/** The pods' usage of one resource from the metrics API, or why it could not be had. */
export type ResourceMetrics = { ok: true; metrics: PodMetricsInfo } | { ok: false; error: string };

export interface MetricsProposalInput {
  metrics: readonly MetricSpec[];
  currentReplicas: number;
  pods: readonly HpaPod[];
  /** Fetches (once per resource) the pods' usage. */
  usage: (resource: ResourceName) => ResourceMetrics;
  nowMs: number;
  options: ReplicaCalculatorOptions;
}

export type MetricsProposal =
  | { ok: true; replicas: number; metricName: string; statuses: ResourceMetricStatus[]; timestampMs: number }
  | {
      ok: false;
      statuses: ResourceMetricStatus[];
      /** ScalingActive False, with the first invalid metric's reason and message. */
      condition: { reason: string; message: string };
      /** The FailedComputeMetricsReplicas event: "invalid metrics (1 invalid out of 1), first error is: ...". */
      eventMessage: string;
      /** Each failed metric's own Warning event (FailedGetResourceMetric). */
      failures: MetricFailure[];
    };

const DECIMAL_SUFFIXES = ["", "k", "M", "G", "T", "P", "E"];

/**
 * A milli-unit value as Kubernetes prints resource.NewMilliQuantity(v, DecimalSI): "250m", "2",
 * "11468800", "64M" (the largest power of 1000 that divides it exactly).
 */
export function milliQuantity(milli: number): string {
  const m = Math.round(milli);
  if (m % 1000 !== 0) return `${m}m`;
  let n = m / 1000;
  let i = 0;
  while (n !== 0 && n % 1000 === 0 && i < DECIMAL_SUFFIXES.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n}${DECIMAL_SUFFIXES[i]}`;
}

function proposeFor(
  spec: MetricSpec,
  input: MetricsProposalInput,
): { ok: true; replicas: number; metricName: string; status: ResourceMetricStatus; timestampMs: number } | MetricFailure {
  const src = spec.resource;
  const name = src?.name as ResourceName;
  const target = src?.target;
  const targetType = target?.averageUtilization !== undefined ? "Utilization" : "AverageValue";
  if (!src || (name !== "cpu" && name !== "memory") || !target) {
    return metricFailure(name ?? "cpu", targetType, undefined, `unsupported metric source ${spec.type}`);
  }
  const usage = input.usage(name);
  if (!usage.ok) return metricFailure(name, targetType, undefined, `unable to get metrics for resource ${name}: ${usage.error}`);
  const base = {
    currentReplicas: input.currentReplicas,
    resource: name,
    pods: input.pods,
    metrics: usage.metrics,
    nowMs: input.nowMs,
    options: input.options,
  };
  if (target.averageUtilization !== undefined) {
    const r = getResourceReplicas({ ...base, targetUtilizationPercent: target.averageUtilization });
    if (!r.ok) return r;
    return {
      ok: true,
      replicas: r.replicas,
      metricName: `${name} resource utilization (percentage of request)`,
      timestampMs: r.timestampMs,
      status: {
        type: "Resource",
        resource: { name, current: { averageUtilization: r.utilizationPercent, averageValue: milliQuantity(r.rawAverageMilli) } },
      },
    };
  }
  if (!target.averageValue) {
    return metricFailure(
      name,
      targetType,
      undefined,
      "invalid resource metric source: neither a utilization target nor a value target was set",
    );
  }
  const r = getRawResourceReplicas({ ...base, targetAverageValueMilli: milliValue(target.averageValue) });
  if (!r.ok) return r;
  return {
    ok: true,
    replicas: r.replicas,
    metricName: `${name} resource`,
    timestampMs: r.timestampMs,
    status: { type: "Resource", resource: { name, current: { averageValue: milliQuantity(r.rawAverageMilli) } } },
  };
}

/**
 * The replica count the HPA's metrics ask for (computeReplicasForMetrics): the largest proposal
 * among the metrics that could be computed. If every metric failed, or some failed and the others
 * would scale down, nothing is proposed (scaling down on partial information could be wrong):
 * ScalingActive goes False with the first failure.
 */
export function replicasForMetrics(input: MetricsProposalInput): MetricsProposal {
  const statuses: ResourceMetricStatus[] = [];
  const failures: MetricFailure[] = [];
  let replicas = 0;
  let metricName = "";
  let timestampMs = 0;
  for (const spec of input.metrics) {
    const p = proposeFor(spec, input);
    if (!p.ok) {
      failures.push(p);
      continue;
    }
    statuses.push(p.status);
    if (replicas === 0 || p.replicas > replicas) {
      replicas = p.replicas;
      metricName = p.metricName;
      timestampMs = p.timestampMs;
    }
  }
  const first = failures[0];
  if (first && (failures.length >= input.metrics.length || replicas < input.currentReplicas)) {
    return {
      ok: false,
      statuses,
      condition: { reason: first.reason, message: first.conditionMessage },
      eventMessage: `invalid metrics (${failures.length} invalid out of ${input.metrics.length}), first error is: ${first.eventMessage}`,
      failures,
    };
  }
  return { ok: true, replicas, metricName, statuses, timestampMs };
}
