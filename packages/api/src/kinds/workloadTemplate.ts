import { create, equals, type Message } from "@bufbuild/protobuf";
import { PodSchema, type PodTemplateSpec } from "../gen/kubelab/core/v1/pod_pb.js";
import { LabelSelectorSchema, type LabelSelector as LabelSelectorMessage } from "../gen/kubelab/meta/v1/meta_pb.js";
import { LabelSelector, SelectorParseError } from "../selectors/labelSelector.js";
import { validateLabels } from "../validation/labels.js";
import { type FieldError, GoSyntax, goQuote, goStringMap, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { defaultPod } from "./pod.js";
import { validatePodSpec } from "./podValidation.js";

// What ReplicaSet, Deployment and Job share: a selector and a pod template that must match it.

/** Pod defaults applied to a template, so what the controllers create equals what a Pod gets. */
export function defaultTemplate(template: PodTemplateSpec | undefined): void {
  if (!template?.spec) return;
  const pod = create(PodSchema, { spec: template.spec });
  defaultPod(pod);
}

export function validateTemplate(
  template: PodTemplateSpec | undefined,
  selector: LabelSelectorMessage | undefined,
  kind: string,
  restartPolicies: readonly string[],
): FieldError[] {
  const errs: FieldError[] = [];
  if (!selector) errs.push(required("spec.selector"));
  else if (Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0) {
    errs.push(invalid("spec.selector", "{}", `empty selector is invalid for ${kind.toLowerCase()}`));
  }
  if (!template) return [...errs, required("spec.template")];
  const labels = template.metadata?.labels ?? {};
  if (selector) {
    try {
      if (!LabelSelector.fromMessage(selector).matches(labels)) {
        errs.push(invalid("spec.template.metadata.labels", JSON.stringify(labels), "`selector` does not match template `labels`"));
      }
    } catch (e) {
      if (!(e instanceof SelectorParseError)) throw e;
      errs.push(invalid("spec.selector.matchExpressions", "", e.message));
    }
  }
  errs.push(...validatePodTemplate("spec.template", template, restartPolicies));
  return errs;
}

/** A pod template's labels and pod spec, with the restart policies its kind allows; `path` is the template's field. */
export function validatePodTemplate(path: string, template: PodTemplateSpec, restartPolicies: readonly string[]): FieldError[] {
  const errs = [
    ...validateLabels(`${path}.metadata.labels`, template.metadata?.labels ?? {}),
    ...validatePodSpec(`${path}.spec`, template.spec),
  ];
  const policy = template.spec?.restartPolicy;
  if (policy && !restartPolicies.includes(policy)) errs.push(notSupported(`${path}.spec.restartPolicy`, policy, restartPolicies));
  return errs;
}

export function validateSelectorImmutable(cur: LabelSelectorMessage | undefined, old: LabelSelectorMessage | undefined): FieldError[] {
  const a = cur ?? create(LabelSelectorSchema);
  const b = old ?? create(LabelSelectorSchema);
  return equals(LabelSelectorSchema, a, b) ? [] : [invalid("spec.selector", new GoSyntax(goLabelSelector(a)), "field is immutable")];
}

/** A LabelSelector as Kubernetes prints the value of an immutable selector (Go's %#v of metav1.LabelSelector). */
export function goLabelSelector(sel: LabelSelectorMessage): string {
  const strings = (xs: string[]) => (xs.length ? `[]string{${xs.map(goQuote).join(", ")}}` : "[]string(nil)");
  const requirements = sel.matchExpressions.length
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map((e) => `v1.LabelSelectorRequirement{Key:${goQuote(e.key)}, Operator:${goQuote(e.operator)}, Values:${strings(e.values)}}`)
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${requirements}}`;
}

export const nonNegative = (field: string, v: number | undefined): FieldError[] =>
  v !== undefined && v < 0 ? [invalid(field, v, "must be greater than or equal to 0")] : [];

/** kubectl's SELECTOR column: "app=web,tier in (a,b)". */
export function selectorString(sel: LabelSelectorMessage | undefined): string {
  try {
    return LabelSelector.fromMessage(sel).toString() || "<none>";
  } catch {
    return "<invalid>";
  }
}

export function templateContainers(t: PodTemplateSpec | undefined): { names: string; images: string } {
  const cs = t?.spec?.containers ?? [];
  return { names: cs.map((c) => c.name).join(","), images: cs.map((c) => c.image).join(",") };
}

export type { Message };
