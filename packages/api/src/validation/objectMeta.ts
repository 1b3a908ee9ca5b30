import type { KindDefinition, KubeObject } from "../registry.js";
import { type FieldError, forbidden, invalid, required } from "./fieldErrors.js";
import { validateAnnotations, validateLabels, qualifiedNameErrors } from "./labels.js";
import { dns1123LabelErrors, validateName } from "./names.js";

/** metadata checks shared by every kind, after Kubernetes' ValidateObjectMeta. */
export function validateObjectMeta(def: KindDefinition, obj: KubeObject): FieldError[] {
  const m = obj.metadata;
  if (!m) return [required("metadata")];
  const errs: FieldError[] = [];
  if (m.name || !m.generateName) errs.push(...validateName("metadata.name", m.name, def.nameRule));
  if (def.namespaced) {
    if (!m.namespace) errs.push(required("metadata.namespace"));
    else errs.push(...dns1123LabelErrors(m.namespace).map((d) => invalid("metadata.namespace", m.namespace, d)));
  } else if (m.namespace) {
    errs.push(forbidden("metadata.namespace", "not allowed on this type"));
  }
  errs.push(...validateLabels("metadata.labels", m.labels));
  errs.push(...validateAnnotations("metadata.annotations", m.annotations));
  m.ownerReferences.forEach((ref, i) => {
    const p = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion) errs.push(required(`${p}.apiVersion`, "version must not be empty"));
    if (!ref.kind) errs.push(required(`${p}.kind`, "kind must not be empty"));
    if (!ref.name) errs.push(required(`${p}.name`, "name must not be empty"));
    if (!ref.uid) errs.push(required(`${p}.uid`, "uid must not be empty"));
  });
  if (m.ownerReferences.filter((r) => r.controller).length > 1) {
    errs.push(invalid("metadata.ownerReferences", "", "Only one reference can have Controller set to true"));
  }
  m.finalizers.forEach((f, i) => {
    for (const d of qualifiedNameErrors(f)) errs.push(invalid(`metadata.finalizers[${i}]`, f, d));
  });
  return errs;
}

/** What an update may not change in metadata. */
export function validateObjectMetaUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const n = obj.metadata!;
  const o = old.metadata!;
  if (n.name !== o.name) errs.push(invalid("metadata.name", n.name, "field is immutable"));
  if (n.namespace !== o.namespace) errs.push(invalid("metadata.namespace", n.namespace, "field is immutable"));
  if (n.uid && n.uid !== o.uid) errs.push(invalid("metadata.uid", n.uid, "field is immutable"));
  return errs;
}
