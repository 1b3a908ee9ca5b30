import { create } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import {
  DeploymentSchema,
  DeploymentStrategySchema,
  RollingUpdateDeploymentSchema,
  type Deployment,
} from "../gen/kubelab/apps/v1/apps_pb.js";
import { registerKind } from "../registry.js";
import { type FieldError, invalid, notSupported } from "../validation/fieldErrors.js";
import { age } from "./print.js";
import {
  defaultTemplate,
  nonNegative,
  selectorString,
  templateContainers,
  validateSelectorImmutable,
  validateTemplate,
} from "./workloadTemplate.js";

const STRATEGIES = ["Recreate", "RollingUpdate"] as const;
const percent = (s: string) => create(ValueSchema, { kind: { case: "stringValue", value: s } });

/** An IntOrString's number, or its percentage of `total` rounded up (surge) or down (unavailable), as Kubernetes does. */
export function intOrPercent(v: Value | undefined, total: number, roundUp: boolean): number {
  const k = v?.kind;
  if (!k) return 0;
  if (k.case === "numberValue") return k.value;
  if (k.case === "stringValue") {
    const m = /^(\d+)%$/.exec(k.value);
    if (!m) return Number(k.value) || 0;
    const x = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  return 0;
}

function validIntOrPercent(field: string, v: Value | undefined): FieldError[] {
  const k = v?.kind;
  if (!k || k.case === undefined) return [];
  if (k.case === "numberValue")
    return k.value < 0 || !Number.isInteger(k.value) ? [invalid(field, k.value, "must be greater than or equal to 0")] : [];
  if (k.case === "stringValue") {
    const m = /^(\d+)%$/.exec(k.value);
    if (!m)
      return [
        invalid(
          field,
          k.value,
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      ];
    if (Number(m[1]) > 100) return [invalid(field, k.value, "must not be greater than 100%")];
    return [];
  }
  return [invalid(field, "", "must be an integer or a percentage")];
}

const isZero = (v: Value | undefined) => intOrPercent(v, 100, true) === 0;

registerKind<Deployment>({
  kind: "Deployment",
  apiVersion: "apps/v1",
  resource: "deployments",
  categories: ["all"],
  singular: "deployment",
  shortNames: ["deploy"],
  namespaced: true,
  schema: DeploymentSchema,
  nameRule: "subdomain",
  hasStatus: true,
  defaults: (d) => {
    const s = d.spec;
    if (!s) return;
    if (s.replicas === undefined) s.replicas = 1;
    s.strategy ??= create(DeploymentStrategySchema);
    if (!s.strategy.type) s.strategy.type = "RollingUpdate";
    if (s.strategy.type === "RollingUpdate") {
      s.strategy.rollingUpdate ??= create(RollingUpdateDeploymentSchema);
      s.strategy.rollingUpdate.maxUnavailable ??= percent("25%");
      s.strategy.rollingUpdate.maxSurge ??= percent("25%");
    }
    if (s.revisionHistoryLimit === undefined) s.revisionHistoryLimit = 10;
    if (s.progressDeadlineSeconds === undefined) s.progressDeadlineSeconds = 600;
    defaultTemplate(s.template);
  },
  validate: (d) => {
    const s = d.spec;
    const errs = [
      ...nonNegative("spec.replicas", s?.replicas),
      ...nonNegative("spec.minReadySeconds", s?.minReadySeconds),
      ...nonNegative("spec.revisionHistoryLimit", s?.revisionHistoryLimit),
      ...validateTemplate(s?.template, s?.selector, "Deployment", ["Always"]),
    ];
    const type = s?.strategy?.type;
    if (type && !STRATEGIES.includes(type as never)) errs.push(notSupported("spec.strategy.type", type, STRATEGIES));
    const ru = s?.strategy?.rollingUpdate;
    if (type === "Recreate" && ru)
      errs.push(invalid("spec.strategy.rollingUpdate", "", "may not be specified when strategy `type` is 'Recreate'"));
    if (ru) {
      errs.push(...validIntOrPercent("spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable));
      errs.push(...validIntOrPercent("spec.strategy.rollingUpdate.maxSurge", ru.maxSurge));
      if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) {
        errs.push(invalid("spec.strategy.rollingUpdate.maxUnavailable", 0, "may not be 0 when `maxSurge` is 0"));
      }
    }
    if (s?.progressDeadlineSeconds !== undefined && s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) {
      errs.push(invalid("spec.progressDeadlineSeconds", s.progressDeadlineSeconds, "must be greater than minReadySeconds"));
    }
    return errs;
  },
  validateUpdate: (d, old) => validateSelectorImmutable(d.spec?.selector, old.spec?.selector),
  columns: [
    { name: "READY", value: (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}` },
    { name: "UP-TO-DATE", value: (d) => String(d.status?.updatedReplicas ?? 0) },
    { name: "AVAILABLE", value: (d) => String(d.status?.availableReplicas ?? 0) },
    { name: "AGE", value: (d, now) => age(d.metadata?.creationTimestamp, now) },
    { name: "CONTAINERS", value: (d) => templateContainers(d.spec?.template).names, wide: true },
    { name: "IMAGES", value: (d) => templateContainers(d.spec?.template).images, wide: true },
    { name: "SELECTOR", value: (d) => selectorString(d.spec?.selector), wide: true },
  ],
});
