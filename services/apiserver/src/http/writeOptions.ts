import { InvalidObjectError, notSupported, type FieldError } from "@kubelab/api";

/** fieldValidation: what a write does with fields its kind does not have. */
export type FieldValidation = "Ignore" | "Warn" | "Strict";

/** The options of a write from its query, as CreateOptions, UpdateOptions, PatchOptions and DeleteOptions carry them. */
export interface HttpWriteOptions {
  dryRun: boolean;
  fieldValidation: FieldValidation;
}

type WriteVerb = "Create" | "Update" | "Patch" | "Delete";

const DRY_RUN_VALUES = ["All"];
const FIELD_VALIDATION_VALUES = ["", "Ignore", "Strict", "Warn"];

/**
 * A write's options from its query, checked as kube-apiserver checks them (ValidateCreateOptions
 * and its siblings): dryRun takes only "All", fieldValidation one of its three values. Left out,
 * fieldValidation is Warn, the server's default (kubectl sends Strict).
 */
export function writeOptionsOf(verb: WriteVerb, q: URLSearchParams): HttpWriteOptions {
  const errs: FieldError[] = [];
  const dryRun = q.getAll("dryRun");
  if (dryRun.some((v) => !DRY_RUN_VALUES.includes(v))) errs.push(notSupported("dryRun", dryRun, DRY_RUN_VALUES));
  const fieldValidation = verb === "Delete" ? "" : (q.get("fieldValidation") ?? "");
  if (!FIELD_VALIDATION_VALUES.includes(fieldValidation))
    errs.push(notSupported("fieldValidation", fieldValidation, FIELD_VALIDATION_VALUES));
  if (errs.length) throw new InvalidObjectError(`${verb}Options.meta.k8s.io`, "", errs);
  return { dryRun: dryRun.length > 0, fieldValidation: (fieldValidation || "Warn") as FieldValidation };
}

/** The Warning header values kube-apiserver sends for unknown fields under fieldValidation=Warn. */
export function unknownFieldWarnings(fields: readonly string[]): string[] {
  return fields.map((f) => `299 - ${JSON.stringify(`unknown field "${f}"`)}`);
}
