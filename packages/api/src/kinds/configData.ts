import { type FieldError, duplicate, forbidden, invalid, tooLongBytes } from "../validation/fieldErrors.js";

// ConfigMap and Secret key rules (k8s IsConfigMapKey) and immutability, shared by both kinds.
const configKey = /^[-._a-zA-Z0-9]+$/;

export function validateConfigKeys(field: string, keys: Iterable<string>, seen = new Set<string>()): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of keys) {
    if (!configKey.test(k) || k.length > 253) {
      errs.push(
        invalid(
          field,
          k,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ),
      );
    }
    if (k === "." || k === "..") errs.push(invalid(field, k, `must not be '${k}'`));
    if (seen.has(k)) errs.push(duplicate(field, k));
    seen.add(k);
  }
  return errs;
}

/** Once immutable is true, data and immutable itself may not change. */
export function validateImmutableData(
  oldImmutable: boolean | undefined,
  newImmutable: boolean | undefined,
  dataChanged: boolean,
): FieldError[] {
  if (!oldImmutable) return [];
  const errs: FieldError[] = [];
  if (!newImmutable) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  if (dataChanged) errs.push(forbidden("data", "field is immutable when `immutable` is set"));
  return errs;
}

/** Kubernetes' MaxSecretSize: the data of a ConfigMap or a Secret, all values together. */
export const MAX_CONFIG_DATA_BYTES = 1024 * 1024;

/**
 * The total size of a ConfigMap's or Secret's values (keys are not counted, as in Kubernetes),
 * refused over 1 MiB on create, update and patch alike. `field` is where Kubernetes reports it:
 * "[]" (the whole object) for a ConfigMap, "data" for a Secret.
 */
export function validateConfigDataSize(field: string, values: Iterable<string | Uint8Array>): FieldError[] {
  let total = 0;
  for (const v of values) total += typeof v === "string" ? Buffer.byteLength(v, "utf8") : v.byteLength;
  return total > MAX_CONFIG_DATA_BYTES ? [tooLongBytes(field, MAX_CONFIG_DATA_BYTES)] : [];
}
