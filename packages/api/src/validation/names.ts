import { type FieldError, invalid, required, tooLong } from "./fieldErrors.js";

// Regexes and messages from k8s.io/apimachinery/pkg/util/validation.
const dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123Label = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123Subdomain = new RegExp(`^${dns1123SubdomainFmt}$`);

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) errs.push(`must be no more than ${DNS1123_LABEL_MAX} characters`);
  if (!dns1123Label.test(value)) {
    errs.push(
      `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${dns1123LabelFmt}')`,
    );
  }
  return errs;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) errs.push(`must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`);
  if (!dns1123Subdomain.test(value)) {
    errs.push(
      `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`,
    );
  }
  return errs;
}

export type NameRule = "subdomain" | "label";

export function validateName(field: string, value: string | undefined, rule: NameRule): FieldError[] {
  if (!value) return [required(field, "name or generateName is required")];
  const msgs = rule === "label" ? dns1123LabelErrors(value) : dns1123SubdomainErrors(value);
  return msgs.map((m) => invalid(field, value, m));
}

export function validateLabelName(field: string, value: string | undefined): FieldError[] {
  if (!value) return [required(field)];
  const errs = dns1123LabelErrors(value).map((m) => invalid(field, value, m));
  if (value.length > DNS1123_LABEL_MAX && errs.length === 0) errs.push(tooLong(field, DNS1123_LABEL_MAX));
  return errs;
}
