import { FieldSelectorError, SelectorParseError, objectMatcher, type KindDefinition } from "@kubelab/api";
import { badRequest } from "../apiErrors.js";
import type { Filter } from "../storage/watchCache.js";

/** The filter a list or watch applies: namespace, label selector and field selector; a bad selector is BadRequest. */
export function objectFilter(def: KindDefinition, namespace: string, labelSelector: string, fieldSelector: string): Filter {
  try {
    return objectMatcher(def, namespace, labelSelector, fieldSelector);
  } catch (e) {
    if (e instanceof SelectorParseError || e instanceof FieldSelectorError) throw badRequest(e.message);
    throw e;
  }
}
