import { create, fromJson, toJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { kindFor, kindForTypeName, type KindDefinition, type KubeObject } from "./registry.js";
import { type FieldError, InvalidObjectError, invalid, required } from "./validation/fieldErrors.js";
import { encodeMessage } from "./binaryEncoder.js";
import { isQuantity as isQuantityString, QUANTITY_REGEX_MESSAGE } from "./quantity.js";
import { decodeMessage } from "./binaryDecoder.js";

const TYPE_URL_PREFIX = "type.googleapis.com/";

/**
 * Fields holding Kubernetes quantities. YAML lets users write `cpu: 2` (a number) where the
 * message has a string, as Kubernetes' Quantity accepts both; numbers here become strings.
 */
export const quantityFields = new Set<string>([
  "kubelab.core.v1.ResourceRequirements.limits",
  "kubelab.core.v1.ResourceRequirements.requests",
  "kubelab.core.v1.NodeStatus.capacity",
  "kubelab.core.v1.NodeStatus.allocatable",
  "kubelab.core.v1.EmptyDirVolumeSource.size_limit",
  "kubelab.core.v1.ResourceFieldSelector.divisor",
]);

/** Thrown for input that is not an object of a known kind, or has unknown or ill-typed fields. */
export class DecodeError extends InvalidObjectError {
  constructor(
    kind: string,
    objectName: string,
    causes: ConstructorParameters<typeof InvalidObjectError>[2],
    message?: string,
    /** The paths of fields the kind does not have (a strict decoding error). */
    readonly unknownFields: readonly string[] = [],
  ) {
    super(kind, objectName, causes, message);
  }

  /**
   * What Kubernetes' JSON decoder says of the first ill-typed value, before any validation: a bad
   * quantity is its Quantity's own error (no field named), a wrong type Go's unmarshal error.
   * Undefined when only unknown fields (or no fields at all) are wrong.
   */
  get decoderMessage(): string | undefined {
    const first = this.causes.find((c) => c.type === "Invalid");
    if (!first) return undefined;
    if (first.detail === QUANTITY_REGEX_MESSAGE) return QUANTITY_REGEX_MESSAGE;
    return `json: cannot unmarshal ${jsonTypeOf(first.value)} into Go struct field ${this.kind}.${first.field.replace(/\[[^\]]*\]/g, "")} of type ${GO_TYPE_BY_DETAIL[first.detail ?? ""] ?? "object"}`;
  }
}

/** Go's name of the type each of the walk's complaints expected. */
const GO_TYPE_BY_DETAIL: Record<string, string> = {
  "expected a string": "string",
  "expected a boolean (true or false)": "bool",
  "expected an integer": "int64",
  "must be a 32-bit integer": "int32",
  "expected a list": "[]interface {}",
  "expected a mapping": "map[string]interface {}",
  "must be an integer or a string": "intstr.IntOrString",
  "illegal base64 data": "[]uint8",
};

function jsonTypeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null || v === undefined) return "null";
  return typeof v === "object" ? "object" : typeof v;
}

type JsonObject = { [k: string]: JsonValue };

/**
 * Decodes a Kubernetes-shaped JSON object (as parsed from YAML) into its kind's message.
 * Strict like `kubectl apply --validate=strict`: every unknown field is an error naming its path,
 * and so is a value of the wrong type. With dropUnknownFields (fieldValidation Ignore or Warn),
 * unknown fields are left out and listed instead.
 */
export function decodeObject(
  json: unknown,
  opts: { dropUnknownFields?: boolean } = {},
): { def: KindDefinition; obj: KubeObject; unknownFields: string[] } {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new DecodeError("", "", [], "object must be a mapping with apiVersion and kind");
  }
  const o = json as JsonObject;
  const name =
    typeof o.metadata === "object" && o.metadata && !Array.isArray(o.metadata) ? String((o.metadata as JsonObject).name ?? "") : "";
  const errs: FieldError[] = [];
  if (typeof o.apiVersion !== "string" || !o.apiVersion) errs.push(required("apiVersion"));
  if (typeof o.kind !== "string" || !o.kind) errs.push(required("kind"));
  if (errs.length) throw new DecodeError(String(o.kind ?? "Object"), name, errs);
  const def = kindFor(o.apiVersion as string, o.kind as string);
  if (!def) {
    throw new DecodeError(String(o.kind), name, [], `no matches for kind "${o.kind}" in version "${o.apiVersion}"`);
  }
  const unknown: string[] = [];
  const normalized = walk(def.schema, o, "", errs, unknown);
  // An ill-typed value fails the decoding before unknown fields are looked at, as in Kubernetes' strict decoder.
  if (errs.length) throw new DecodeError(def.kind, name, errs);
  if (unknown.length && !opts.dropUnknownFields) {
    throw new DecodeError(
      def.kind,
      name,
      [],
      `${def.kind} "${name}" is invalid: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(", ")}`,
      unknown,
    );
  }
  try {
    return { def, obj: fromJson(def.schema, normalized) as KubeObject, unknownFields: unknown };
  } catch (e) {
    throw new DecodeError(def.kind, name, [], `${def.kind} "${name}" could not be decoded: ${(e as Error).message}`);
  }
}

const fieldMaps = new WeakMap<DescMessage, Map<string, DescMessage["fields"][number]>>();
function fieldsByJsonName(schema: DescMessage) {
  let m = fieldMaps.get(schema);
  if (!m) {
    m = new Map(schema.fields.map((f) => [f.jsonName, f]));
    fieldMaps.set(schema, m);
  }
  return m;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function walk(schema: DescMessage, json: JsonObject, path: string, errs: FieldError[], unknown: string[]): JsonObject {
  const out: JsonObject = {};
  const fields = fieldsByJsonName(schema);
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    const p = join(path, key);
    if (!field) {
      unknown.push(p);
      continue;
    }
    if (value === null) continue;
    const isQuantity = quantityFields.has(`${schema.typeName}.${field.name}`);
    switch (field.fieldKind) {
      case "scalar":
        out[key] = scalar(field.scalar, value, p, errs, isQuantity);
        break;
      case "enum":
        out[key] = value;
        break;
      case "message":
        out[key] = message(field.message, value, p, errs, unknown);
        break;
      case "list": {
        if (!Array.isArray(value)) {
          errs.push(invalid(p, value, "expected a list"));
          break;
        }
        out[key] = value.map((item, i) => {
          const ip = `${p}[${i}]`;
          if (field.listKind === "message") return message(field.message, item, ip, errs, unknown);
          if (field.listKind === "scalar") return scalar(field.scalar, item, ip, errs, isQuantity);
          return item;
        });
        break;
      }
      case "map": {
        if (typeof value !== "object" || Array.isArray(value)) {
          errs.push(invalid(p, value, "expected a mapping"));
          break;
        }
        const m: JsonObject = {};
        for (const [k, v] of Object.entries(value)) {
          const ip = `${p}[${k}]`;
          if (field.mapKind === "message") m[k] = message(field.message, v, ip, errs, unknown);
          else if (field.mapKind === "scalar") m[k] = scalar(field.scalar, v, ip, errs, isQuantity);
          else m[k] = v;
        }
        out[key] = m;
        break;
      }
    }
  }
  return out;
}

function message(schema: DescMessage, value: JsonValue, path: string, errs: FieldError[], unknown: string[]): JsonValue {
  if (schema.typeName === "google.protobuf.Value") {
    // IntOrString: a port number or a port name.
    if (typeof value === "number" || typeof value === "string") return value;
    errs.push(invalid(path, value, "must be an integer or a string"));
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    errs.push(invalid(path, value, "expected a mapping"));
    return null;
  }
  return walk(schema, value as JsonObject, path, errs, unknown);
}

// ScalarType numbering from descriptor.proto: 9 string, 8 bool, 12 bytes, the rest numeric.
function scalar(type: number, value: JsonValue, path: string, errs: FieldError[], isQuantity: boolean): JsonValue {
  if (type === 9) {
    if (typeof value === "string") {
      // Kubernetes parses a Quantity as it decodes the JSON: a bad one fails the decoding itself.
      if (isQuantity && !isQuantityString(value)) errs.push(invalid(path, value, QUANTITY_REGEX_MESSAGE));
      return value;
    }
    if (isQuantity && typeof value === "number") return String(value);
    errs.push(invalid(path, value, "expected a string"));
    return null;
  }
  if (type === 8) {
    if (typeof value === "boolean") return value;
    errs.push(invalid(path, value, "expected a boolean (true or false)"));
    return null;
  }
  if (type === 12) {
    if (typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0) return value;
    errs.push(invalid(path, typeof value === "string" ? "<secret data>" : value, "illegal base64 data"));
    return null;
  }
  if (typeof value === "number" && Number.isInteger(value)) {
    if (type === 5 && (value > 2147483647 || value < -2147483648)) {
      errs.push(invalid(path, value, "must be a 32-bit integer"));
      return null;
    }
    return value;
  }
  errs.push(invalid(path, value, "expected an integer"));
  return null;
}

/** The object as Kubernetes JSON: apiVersion and kind always set, empty fields left out. */
export function objectToJson(obj: KubeObject): JsonObject {
  const def = kindOf(obj);
  const json = toJson(def.schema, obj) as JsonObject;
  return { apiVersion: def.apiVersion, kind: def.kind, ...json };
}

export function kindOf(obj: KubeObject): KindDefinition {
  const def = kindForTypeName(obj.$typeName);
  if (!def) throw new Error(`no kind registered for message ${obj.$typeName}`);
  return def;
}

export function packObject(obj: KubeObject): Any {
  const def = kindOf(obj);
  return create(AnySchema, { typeUrl: TYPE_URL_PREFIX + def.schema.typeName, value: encodeMessage(def.schema, obj) });
}

/** Any with already-encoded message bytes, so a cached object is encoded once and sent many times. */
export function packEncoded(def: KindDefinition, bytes: Uint8Array): Any {
  return create(AnySchema, { typeUrl: TYPE_URL_PREFIX + def.schema.typeName, value: bytes });
}

export function kindOfAny(any: Any): KindDefinition | undefined {
  return kindForTypeName(any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1));
}

export function unpackObject(any: Any | undefined): KubeObject {
  if (!any) throw new InvalidObjectError("", "", [required("object")]);
  const def = kindOfAny(any);
  if (!def) throw new DecodeError("", "", [], `no kind is registered for type ${JSON.stringify(any.typeUrl)}`);
  const obj = decodeMessage(def.schema, any.value) as KubeObject;
  obj.apiVersion = def.apiVersion;
  obj.kind = def.kind;
  return obj;
}

export function encodeObject(obj: KubeObject): Uint8Array {
  return encodeMessage(kindOf(obj).schema, obj);
}

export function decodeBinary(def: KindDefinition, bytes: Uint8Array): KubeObject {
  return decodeMessage(def.schema, bytes) as KubeObject;
}
