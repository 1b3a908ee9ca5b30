import { selectableFieldNames, selectableFieldValue, type KindDefinition, type KubeObject } from "../registry.js";
import { FieldSelector } from "./fieldSelector.js";
import { LabelSelector } from "./labelSelector.js";

/**
 * What a list or watch matches: namespace (empty: all), label selector and field selector, as
 * every server of the API applies them (the API server, metrics-server). Throws
 * SelectorParseError or FieldSelectorError, in Kubernetes' words, for a selector it cannot take.
 */
export function objectMatcher(
  def: KindDefinition,
  namespace: string,
  labelSelector: string,
  fieldSelector: string,
): (obj: KubeObject) => boolean {
  const labels = LabelSelector.parse(labelSelector);
  const fields = FieldSelector.parse(fieldSelector);
  fields.checkSupported(selectableFieldNames(def));
  const ns = def.namespaced ? namespace : "";
  return (obj: KubeObject) =>
    (!ns || obj.metadata?.namespace === ns) &&
    (labels.empty || labels.matches(obj.metadata?.labels)) &&
    (fields.empty || fields.matches((f) => selectableFieldValue(def, obj, f)));
}
