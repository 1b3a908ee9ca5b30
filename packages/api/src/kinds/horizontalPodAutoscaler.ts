import { create } from "@bufbuild/protobuf";
import {
  HPAScalingPolicySchema,
  HPAScalingRulesSchema,
  HorizontalPodAutoscalerSchema,
  MetricSpecSchema,
  type HPAScalingRules,
  type HorizontalPodAutoscaler,
  type MetricSpec,
  type MetricStatus,
} from "../gen/kubelab/autoscaling/v2/hpa_pb.js";
import { parseQuantity } from "../quantity.js";
import { generateHPAScaleDownRules, generateHPAScaleUpRules } from "./hpaBehavior.js";
import { registerKind } from "../registry.js";
import { type FieldError, forbidden, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { age } from "./print.js";

/** The metric sources the lab serves: Resource metrics come from metrics-server; the others need a custom metrics API. */
export const HPA_METRIC_SOURCE_TYPES = ["Resource"] as const;
/** Resource metrics metrics-server reports. */
export const HPA_RESOURCE_NAMES = ["cpu", "memory"] as const;
/** Kubernetes' default target when an HPA names no metric (autoscaling.DefaultCPUUtilization). */
export const HPA_DEFAULT_CPU_UTILIZATION_PERCENT = 80;
const MAX_STABILIZATION_WINDOW_SECONDS = 3600;
const MAX_POLICY_PERIOD_SECONDS = 1800;

function validateQuantityTarget(field: string, value: string): FieldError[] {
  if (!value) return [];
  try {
    return parseQuantity(value) > 0 ? [] : [invalid(field, value, "must be positive")];
  } catch (e) {
    return [invalid(field, value, (e as Error).message)];
  }
}

function validateMetric(m: MetricSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!m.type) errs.push(required(`${path}.type`, "must specify a metric source type"));
  else if (!(HPA_METRIC_SOURCE_TYPES as readonly string[]).includes(m.type))
    errs.push(notSupported(`${path}.type`, m.type, HPA_METRIC_SOURCE_TYPES));
  if (m.type === "Resource" && !m.resource)
    errs.push(required(`${path}.resource`, "must populate information for the given metric source"));
  const src = m.resource;
  if (!src) return errs;
  const p = `${path}.resource`;
  if (!src.name) errs.push(required(`${p}.name`, "must specify a resource name"));
  else if (!(HPA_RESOURCE_NAMES as readonly string[]).includes(src.name))
    errs.push(notSupported(`${p}.name`, src.name, HPA_RESOURCE_NAMES));
  const t = src.target;
  if (!t) return [...errs, required(`${p}.target`, "must specify a metric target")];
  if (!t.type) errs.push(required(`${p}.target.type`, "must specify a metric target type"));
  else if (!["Utilization", "Value", "AverageValue"].includes(t.type))
    errs.push(invalid(`${p}.target.type`, t.type, "must be either Utilization, Value, or AverageValue"));
  errs.push(...validateQuantityTarget(`${p}.target.value`, t.value), ...validateQuantityTarget(`${p}.target.averageValue`, t.averageValue));
  if (t.averageUtilization !== undefined && t.averageUtilization < 1)
    errs.push(invalid(`${p}.target.averageUtilization`, t.averageUtilization, "must be greater than 0"));
  if (t.averageUtilization === undefined && !t.averageValue)
    errs.push(required(`${p}.target.averageUtilization`, "must set either a target raw value or a target utilization"));
  if (t.averageUtilization !== undefined && t.averageValue)
    errs.push(forbidden(`${p}.target.averageValue`, "may not set both a target raw value and a target utilization"));
  return errs;
}

function validateRules(r: HPAScalingRules | undefined, path: string): FieldError[] {
  if (!r) return [];
  const errs: FieldError[] = [];
  const w = r.stabilizationWindowSeconds;
  if (w !== undefined && w < 0) errs.push(invalid(`${path}.stabilizationWindowSeconds`, w, "must be greater than or equal to zero"));
  if (w !== undefined && w > MAX_STABILIZATION_WINDOW_SECONDS)
    errs.push(invalid(`${path}.stabilizationWindowSeconds`, w, `must be less than or equal to ${MAX_STABILIZATION_WINDOW_SECONDS}`));
  if (r.selectPolicy !== undefined && !["Disabled", "Max", "Min"].includes(r.selectPolicy))
    errs.push(notSupported(`${path}.selectPolicy`, r.selectPolicy, ["Disabled", "Max", "Min"]));
  if (r.policies.length === 0) errs.push(required(`${path}.policies`, "must specify at least one Policy"));
  r.policies.forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    if (p.type !== "Pods" && p.type !== "Percent") errs.push(notSupported(`${pp}.type`, p.type, ["Percent", "Pods"]));
    if (p.value <= 0) errs.push(invalid(`${pp}.value`, p.value, "must be greater than zero"));
    if (p.periodSeconds <= 0) errs.push(invalid(`${pp}.periodSeconds`, p.periodSeconds, "must be greater than zero"));
    else if (p.periodSeconds > MAX_POLICY_PERIOD_SECONDS)
      errs.push(invalid(`${pp}.periodSeconds`, p.periodSeconds, `must be less than or equal to ${MAX_POLICY_PERIOD_SECONDS}`));
  });
  return errs;
}

/** kubectl's TARGETS column: "cpu: 35%/50%", "memory: 12Mi/64Mi", "<unknown>" before the first measurement. */
export function hpaTargets(hpa: HorizontalPodAutoscaler, maxShown = 3): string {
  const specs = hpa.spec?.metrics ?? [];
  if (specs.length === 0) return "<none>";
  const statuses: MetricStatus[] = hpa.status?.currentMetrics ?? [];
  const list = specs.map((spec, i) => {
    const res = spec.resource;
    if (spec.type !== "Resource" || !res) return `<unknown>/<unknown>`;
    const cur = statuses[i]?.resource;
    if (res.target?.averageValue) return `${res.name}: ${cur?.current?.averageValue || "<unknown>"}/${res.target.averageValue}`;
    const current = cur?.current?.averageUtilization !== undefined ? `${cur.current.averageUtilization}%` : "<unknown>";
    const target = res.target?.averageUtilization !== undefined ? `${res.target.averageUtilization}%` : "<auto>";
    return `${res.name}: ${current}/${target}`;
  });
  const shown = list.slice(0, maxShown).join(", ");
  return list.length > maxShown ? `${shown} + ${list.length - maxShown} more...` : shown;
}

registerKind<HorizontalPodAutoscaler>({
  kind: "HorizontalPodAutoscaler",
  apiVersion: "autoscaling/v2",
  resource: "horizontalpodautoscalers",
  categories: ["all"],
  singular: "horizontalpodautoscaler",
  shortNames: ["hpa"],
  namespaced: true,
  schema: HorizontalPodAutoscalerSchema,
  nameRule: "subdomain",
  hasStatus: true,
  prepareForCreate: (h) => {
    h.status = undefined;
  },
  // autoscaling/v2's SetDefaults_HorizontalPodAutoscaler.
  defaults: (h) => {
    const s = h.spec;
    if (!s) return;
    s.minReplicas ??= 1;
    if (s.metrics.length === 0) {
      s.metrics = [
        create(MetricSpecSchema, {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: HPA_DEFAULT_CPU_UTILIZATION_PERCENT } },
        }),
      ];
    }
    // SetDefaults_HorizontalPodAutoscalerBehavior: an HPA without a behavior keeps none (and is
    // normalized the old way); one with a behavior gets both sides filled in.
    if (s.behavior) {
      const rules = (r: ReturnType<typeof generateHPAScaleUpRules | typeof generateHPAScaleDownRules>) =>
        create(HPAScalingRulesSchema, { ...r, policies: r.policies.map((p) => create(HPAScalingPolicySchema, p)) });
      s.behavior.scaleUp = rules(generateHPAScaleUpRules(s.behavior.scaleUp));
      s.behavior.scaleDown = rules(generateHPAScaleDownRules(s.behavior.scaleDown));
    }
  },
  validate: (h) => {
    const s = h.spec;
    if (!s) return [required("spec")];
    const errs: FieldError[] = [];
    const ref = s.scaleTargetRef;
    if (!ref?.kind) errs.push(required("spec.scaleTargetRef.kind"));
    if (!ref?.name) errs.push(required("spec.scaleTargetRef.name"));
    for (const [f, v] of [
      ["kind", ref?.kind],
      ["name", ref?.name],
    ] as const) {
      if (v && (v === "." || v === ".." || /[/%]/.test(v)))
        errs.push(invalid(`spec.scaleTargetRef.${f}`, v, v.length <= 2 ? `may not be '${v}'` : "may not contain '/' or '%'"));
    }
    if (s.minReplicas !== undefined && s.minReplicas < 1)
      errs.push(invalid("spec.minReplicas", s.minReplicas, "must be greater than or equal to 1"));
    if (s.maxReplicas < 1) errs.push(invalid("spec.maxReplicas", s.maxReplicas, "must be greater than 0"));
    if (s.minReplicas !== undefined && s.maxReplicas < s.minReplicas)
      errs.push(invalid("spec.maxReplicas", s.maxReplicas, "must be greater than or equal to `minReplicas`"));
    s.metrics.forEach((m, i) => errs.push(...validateMetric(m, `spec.metrics[${i}]`)));
    errs.push(
      ...validateRules(s.behavior?.scaleUp, "spec.behavior.scaleUp"),
      ...validateRules(s.behavior?.scaleDown, "spec.behavior.scaleDown"),
    );
    return errs;
  },
  columns: [
    { name: "REFERENCE", value: (h) => `${h.spec?.scaleTargetRef?.kind ?? ""}/${h.spec?.scaleTargetRef?.name ?? ""}` },
    { name: "TARGETS", value: (h) => hpaTargets(h) },
    { name: "MINPODS", value: (h) => (h.spec?.minReplicas !== undefined ? String(h.spec.minReplicas) : "<unset>") },
    { name: "MAXPODS", value: (h) => String(h.spec?.maxReplicas ?? 0) },
    { name: "REPLICAS", value: (h) => String(h.status?.currentReplicas ?? 0) },
    { name: "AGE", value: (h, now) => age(h.metadata?.creationTimestamp, now) },
  ],
});
