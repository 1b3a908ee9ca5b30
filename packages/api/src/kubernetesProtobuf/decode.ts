import { BinaryReader, WireType, base64Encode } from "@bufbuild/protobuf/wire";
import { kubernetesProtobufListWrappers, kubernetesProtobufMessages, kubernetesProtobufRoots } from "./fields.generated.js";

/*
 * Kubernetes' protobuf encoding (k8s.io/apimachinery/pkg/runtime/serializer/protobuf), read into
 * Kubernetes' JSON form of the object, so that a body client-go's typed clients send takes the one
 * path a JSON body takes. The field numbers come from k8s.io/api's generated.proto files, through
 * fields.generated.ts; the few messages whose JSON is not their fields (Quantity, Time,
 * IntOrString...) are converted here, as their Go types marshal them.
 */

/** The media type of Kubernetes' protobuf encoding. */
export const KUBERNETES_PROTOBUF = "application/vnd.kubernetes.protobuf";

/**
 * What every body starts with: "k8s" and the encoding style 0, a runtime.Unknown message
 * (protoEncodingPrefix in apimachinery's protobuf serializer).
 */
const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);
const ENVELOPE = "runtime.Unknown";
/** Deeper than any Kubernetes object nests: a body that goes on is malformed or hostile. */
const MAX_DEPTH = 100;

export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

export interface DecodedKubernetesProtobuf extends TypeMeta {
  /** The object as Kubernetes' JSON, apiVersion and kind included. */
  object: Record<string, unknown>;
}

/**
 * Bytes that are not an object in Kubernetes' protobuf encoding, with apimachinery's words for
 * what is wrong; `sent` is the apiVersion and kind the envelope named, when it could be read.
 */
export class KubernetesProtobufError extends Error {
  constructor(
    message: string,
    readonly sent?: TypeMeta,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KubernetesProtobufError";
  }
}

/**
 * The object of a Kubernetes protobuf body, as Kubernetes' JSON of it (apiVersion and kind from the
 * envelope). `defaults` fill an apiVersion or kind the envelope leaves out, as kube-apiserver fills
 * them from the URL. Go writes every non-pointer field, empty or not, so the JSON has empty values
 * (`generateName: ""`, `status: {}`) a JSON client would have left out; fields unknown to the
 * table are skipped, as Go's generated Unmarshal skips them.
 */
export function decodeKubernetesProtobuf(bytes: Uint8Array, defaults?: TypeMeta): DecodedKubernetesProtobuf {
  if (bytes.length === 0) throw new KubernetesProtobufError("empty data");
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b))
    throw new KubernetesProtobufError(`provided data does not appear to be a protobuf message, expected prefix [${MAGIC.join(" ")}]`);
  if (bytes.length === MAGIC.length) throw new KubernetesProtobufError("empty body");
  let envelope: Record<string, unknown>;
  try {
    envelope = readFields(bytes.subarray(MAGIC.length), ENVELOPE, 0, true);
  } catch (e) {
    throw wireError(e, undefined);
  }
  const typeMeta = (envelope.typeMeta ?? {}) as Partial<TypeMeta>;
  const kind = typeMeta.kind || defaults?.kind || "";
  const apiVersion = typeMeta.apiVersion || defaults?.apiVersion || "";
  // apimachinery's runtime.NewMissingKindErr and NewMissingVersionErr.
  if (!kind) throw new KubernetesProtobufError(`Object 'Kind' is missing in '${JSON.stringify(typeMeta)}'`);
  const sent = { apiVersion, kind };
  if (!apiVersion) throw new KubernetesProtobufError(`Object 'apiVersion' is missing in '${JSON.stringify(typeMeta)}'`, sent);
  const root = kubernetesProtobufRoots[`${apiVersion}/${kind}`] ?? kubernetesProtobufRoots[`*/${kind}`];
  // apimachinery's runtime.NewNotRegisteredErrForKind, less the Go scheme's name.
  if (!root) throw new KubernetesProtobufError(`no kind "${kind}" is registered for version "${apiVersion}"`, sent);
  try {
    const fields = readFields((envelope.raw as Uint8Array | undefined) ?? new Uint8Array(0), root, 0, false);
    return { apiVersion, kind, object: { apiVersion, kind, ...fields } };
  } catch (e) {
    throw wireError(e, sent);
  }
}

interface FieldPlan {
  name: string;
  /** A scalar's .proto name or a message's short name. */
  type: string;
  shape: "single" | "list" | "map";
}

const plans = new Map<string, Map<number, FieldPlan>>();

/** A message's fields by number, parsed once from the table's "number:jsonName:type" entries. */
function planOf(typeName: string): Map<number, FieldPlan> {
  let plan = plans.get(typeName);
  if (plan) return plan;
  const spec = kubernetesProtobufMessages[typeName];
  if (spec === undefined) throw new Error(`the table has no message ${typeName}`);
  plan = new Map();
  for (const entry of spec.split(" ").filter(Boolean)) {
    const [number, name, type] = entry.split(":") as [string, string, string];
    const shape = type.startsWith("[]") ? "list" : type.startsWith("{}") ? "map" : "single";
    plan.set(Number(number), { name, type: shape === "single" ? type : type.slice(2), shape });
  }
  plans.set(typeName, plan);
  return plan;
}

const VARINT_TYPES = new Set(["int32", "int64", "bool"]);
const wireTypeOf = (type: string) => (VARINT_TYPES.has(type) ? WireType.Varint : WireType.LengthDelimited);

/**
 * A message's fields by JSON name. `keepBytes` leaves bytes fields as bytes, for the envelope and
 * the messages converted below; anywhere else they are base64, as JSON has []byte.
 */
function readFields(bytes: Uint8Array, typeName: string, depth: number, keepBytes: boolean): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new KubernetesProtobufError("exceeded maximum recursion depth");
  const plan = planOf(typeName);
  const r = new BinaryReader(bytes);
  const out: Record<string, unknown> = {};
  while (r.pos < r.len) {
    const [number, wireType] = r.tag();
    const f = plan.get(number);
    if (!f) {
      r.skip(wireType, number);
      continue;
    }
    if (f.shape === "single") {
      expectWireType(f.name, wireType, wireTypeOf(f.type));
      const value = readValue(r, f.type, depth, keepBytes);
      if (value !== undefined) out[f.name] = value;
    } else if (f.shape === "list") {
      const list = (out[f.name] ??= []) as unknown[];
      if (wireType === WireType.LengthDelimited && VARINT_TYPES.has(f.type)) {
        // Packed, as proto3 writes numbers; Go's proto2 writes each on its own, taken below.
        const packed = new BinaryReader(r.bytes());
        while (packed.pos < packed.len) list.push(readValue(packed, f.type, depth, keepBytes));
      } else {
        expectWireType(f.name, wireType, wireTypeOf(f.type));
        list.push(readValue(r, f.type, depth, keepBytes) ?? null);
      }
    } else {
      expectWireType(f.name, wireType, WireType.LengthDelimited);
      const [key, value] = readMapEntry(r.bytes(), f, depth, keepBytes);
      ((out[f.name] ??= {}) as Record<string, unknown>)[key] = value;
    }
  }
  return out;
}

/** A map entry: key 1, value 2, either left out when it is its zero value. */
function readMapEntry(bytes: Uint8Array, f: FieldPlan, depth: number, keepBytes: boolean): [string, unknown] {
  const r = new BinaryReader(bytes);
  let key = "";
  let value: unknown;
  while (r.pos < r.len) {
    const [number, wireType] = r.tag();
    if (number === 1) {
      expectWireType(`${f.name} key`, wireType, WireType.LengthDelimited);
      key = r.string();
    } else if (number === 2) {
      expectWireType(f.name, wireType, wireTypeOf(f.type));
      value = readValue(r, f.type, depth, keepBytes);
    } else {
      r.skip(wireType, number);
    }
  }
  if (value === undefined) value = readValue(new BinaryReader(ZERO_VALUE), f.type, depth, keepBytes);
  return [key, value ?? null];
}

/** Every type's zero value encoded: a varint 0, or the length 0 of an empty string, bytes or message. */
const ZERO_VALUE = Uint8Array.of(0);

function readValue(r: BinaryReader, type: string, depth: number, keepBytes: boolean): unknown {
  switch (type) {
    case "string":
      return r.string();
    case "bytes": {
      const bytes = r.bytes();
      return keepBytes ? bytes : base64Encode(bytes);
    }
    case "bool":
      return r.bool();
    case "int32":
      return r.int32();
    case "int64":
      return Number(r.int64());
    default:
      return readMessage(r.bytes(), type, depth + 1);
  }
}

function readMessage(bytes: Uint8Array, typeName: string, depth: number): unknown {
  const convert = CONVERSIONS[typeName];
  const fields = readFields(bytes, typeName, depth, convert !== undefined);
  if (convert) return convert(fields);
  if (kubernetesProtobufListWrappers.has(typeName)) return Object.values(fields)[0] ?? [];
  return fields;
}

/**
 * The messages whose JSON is not their fields, converted as their Go types marshal them (by the
 * table's field names). `undefined` is a value Go's JSON has as null: the field is left out.
 */
const CONVERSIONS: Record<string, (fields: Record<string, unknown>) => unknown> = {
  // Its string form; Go's zero Quantity is "0".
  "resource.Quantity": (f) => f.string ?? "0",
  // Whole seconds: Go drops the nanoseconds of a Time it reads (metav1.Time.Unmarshal).
  "meta.v1.Time": (f) => rfc3339(f, 0),
  "meta.v1.MicroTime": (f) => rfc3339(f, 6),
  "meta.v1.FieldsV1": (f) => rawJson(f.Raw as Uint8Array | undefined, "FieldsV1"),
  "intstr.IntOrString": (f) => {
    if ((f.type ?? 0) === 0) return f.intVal ?? 0;
    if (f.type === 1) return f.strVal ?? "";
    throw new KubernetesProtobufError("impossible IntOrString.Type");
  },
};

/** Earliest and latest seconds of Go's JSON times: years 0 to 9999. */
const MIN_SECONDS = -62_167_219_200;
const MAX_SECONDS = 253_402_300_799;

/**
 * A Time or MicroTime ({seconds, nanos}) as RFC 3339 in UTC with `fractionDigits` of a second.
 * Go writes a zero time as an empty message, and its JSON as null.
 */
function rfc3339(f: Record<string, unknown>, fractionDigits: 0 | 6): string | undefined {
  if (Object.keys(f).length === 0) return undefined;
  const seconds = (f.seconds as number | undefined) ?? 0;
  const nanos = (f.nanos as number | undefined) ?? 0;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new KubernetesProtobufError("Time.MarshalJSON: year outside of range [0,9999]");
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (!fractionDigits) return `${whole}Z`;
  return `${whole}.${String(Math.floor(nanos / 1000)).padStart(fractionDigits, "0")}Z`;
}

/** JSON bytes (a FieldsV1's), parsed; none is Go's nil, JSON null. */
function rawJson(raw: Uint8Array | undefined, typeName: string): unknown {
  if (!raw?.length) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    throw new KubernetesProtobufError(`${typeName} is not JSON: ${(e as Error).message}`);
  }
}

/** gogo-protobuf's words (Kubernetes' generated Unmarshal) for a field of the wrong wire type. */
function expectWireType(field: string, actual: number, expected: WireType): void {
  if (actual !== expected) throw new KubernetesProtobufError(`proto: wrong wireType = ${actual} for field ${field}`);
}

/** Any failure reading the bytes, in Go's words where they differ (a truncated message is "unexpected EOF"). */
function wireError(e: unknown, sent: TypeMeta | undefined): KubernetesProtobufError {
  if (e instanceof KubernetesProtobufError) return new KubernetesProtobufError(e.message, sent, { cause: e });
  const message = (e as Error)?.message ?? String(e);
  const truncated = e instanceof RangeError || message === "premature EOF";
  return new KubernetesProtobufError(truncated ? "unexpected EOF" : `proto: ${message}`, sent, { cause: e });
}
