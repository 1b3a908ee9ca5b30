import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";

/** The value kinds binaryEncoder.ts and binaryDecoder.ts handle themselves; others go to protobuf-es. */
export const Op = { String: 0, Bytes: 1, Bool: 2, Int32: 3, Uint32: 4, Double: 5, Float: 6, Message: 7 } as const;
export type Op = (typeof Op)[keyof typeof Op];

export const WIRE_VARINT = 0;
export const WIRE_BIT64 = 1;
export const WIRE_LEN = 2;
export const WIRE_BIT32 = 5;
/** google.protobuf.FeatureSet.FieldPresence.IMPLICIT and LEGACY_REQUIRED, as protobuf-es has them. */
export const IMPLICIT = 2;
export const LEGACY_REQUIRED = 3;

/** The op of a scalar type, or undefined for 64-bit, fixed-width and zigzag types. */
export function opOf(scalar: ScalarType): Op | undefined {
  switch (scalar) {
    case ScalarType.STRING:
      return Op.String;
    case ScalarType.BYTES:
      return Op.Bytes;
    case ScalarType.BOOL:
      return Op.Bool;
    case ScalarType.INT32:
      return Op.Int32;
    case ScalarType.UINT32:
      return Op.Uint32;
    case ScalarType.DOUBLE:
      return Op.Double;
    case ScalarType.FLOAT:
      return Op.Float;
    default:
      return undefined;
  }
}

export function wireTypeOf(op: Op): number {
  switch (op) {
    case Op.String:
    case Op.Bytes:
    case Op.Message:
      return WIRE_LEN;
    case Op.Double:
      return WIRE_BIT64;
    case Op.Float:
      return WIRE_BIT32;
    default:
      return WIRE_VARINT;
  }
}

const WRAPPERS = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map((t) => `google.protobuf.${t}Value`),
);

/**
 * Message fields protobuf-es does not hold as messages: a wrapper type in a singular field is
 * its plain value, a google.protobuf.Struct outside google.protobuf.Value is a JSON object.
 */
export function isUnsupportedMessageField(f: DescField, message: DescMessage): boolean {
  return WRAPPERS.has(message.typeName) || (message.typeName === "google.protobuf.Struct" && f.parent.typeName !== "google.protobuf.Value");
}
