import type { DescMessage } from "@bufbuild/protobuf";

/**
 * The object less the empty fields `schema` does not have, at any depth. Go writes every
 * non-pointer field of a Kubernetes object, empty or not, where its JSON leaves most out; our
 * messages model a subset of Kubernetes' fields and are decoded strictly, so the empty ones they
 * lack (`selfLink: ""`, `hostPID: false`, `status: {}` of nothing but empties) go, and a field
 * with a value stays for the strict decoder to name. Fields the message has are kept as they are.
 */
export function pruneEmptyUnknownFields(schema: DescMessage, json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.jsonName === key);
    if (!field) {
      if (!isEmpty(value)) out[key] = value;
      continue;
    }
    // A message, or a list or map of them: what to prune inside.
    const message = field.message;
    // IntOrString fields are a google.protobuf.Value: a number or a string, nothing to prune.
    if (!message || message.typeName === "google.protobuf.Value") out[key] = value;
    else if (field.fieldKind === "list" && Array.isArray(value)) out[key] = value.map((item) => prunedObject(message, item));
    else if (field.fieldKind === "map" && isObject(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, prunedObject(message, v)]));
    else out[key] = prunedObject(message, value);
  }
  return out;
}

const prunedObject = (schema: DescMessage, value: unknown) => (isObject(value) ? pruneEmptyUnknownFields(schema, value) : value);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Go's zero values as JSON: "", 0, false, null, [], and an object of nothing else. */
function isEmpty(value: unknown): boolean {
  if (value === "" || value === 0 || value === false || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.values(value).every(isEmpty);
}
