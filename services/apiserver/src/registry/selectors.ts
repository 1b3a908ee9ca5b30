import {
  FieldSelector,
  FieldSelectorError,
  LabelSelector,
  SelectorParseError,
  selectableFieldNames,
  selectableFieldValue,
  type KindDefinition,
  type KubeObject,
} from "@kubelab/api";
import { badRequest } from "../apiErrors.js";
import type { Filter } from "../storage/watchCache.js";

/** The filter a list or watch applies: namespace, label selector and field selector. */
export function objectFilter(def: KindDefinition, namespace: string, labelSelector: string, fieldSelector: string): Filter {
  let labels: LabelSelector;
  let fields: FieldSelector;
  try {
    labels = LabelSelector.parse(labelSelector);
    fields = FieldSelector.parse(fieldSelector);
    fields.checkSupported(selectableFieldNames(def));
  } catch (e) {
    if (e instanceof SelectorParseError || e instanceof FieldSelectorError) throw badRequest(e.message);
    throw e;
  }
  const ns = def.namespaced ? namespace : "";
  return (obj: KubeObject) =>
    (!ns || obj.metadata?.namespace === ns) &&
    (labels.empty || labels.matches(obj.metadata?.labels)) &&
    (fields.empty || fields.matches((f) => selectableFieldValue(def, obj, f)));
}
