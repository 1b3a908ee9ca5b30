import { ScalarType, fromBinary, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { IMPLICIT, Op, isUnsupportedMessageField, opOf, wireTypeOf } from "./binaryOps.js";

/*
 * Protobuf binary decoding into protobuf-es messages: the same messages fromBinary makes, at a
 * fraction of its cost. Written by hand for the reason binaryEncoder.ts is: protobuf-es v2 decodes
 * through reflection, every watch event and response is decoded by its
 * client, and no library decodes into protobuf-es's message shape.
 *
 * Each message type is compiled once into a table by field number. Anything off the plain path —
 * a wire type that does not match the field, truncated input, invalid UTF-8 in a string, groups,
 * 64-bit and fixed-width types, proto2 messages — hands the whole input to fromBinary, so its
 * result and its errors stand.
 */

interface FieldPlan {
  name: string;
  oneofCase: string | undefined;
  shape: "single" | "list" | "map";
  op: Op;
  /** The wire type the field is written with (a list of numbers also accepts packed). */
  wireType: number;
  message: MessagePlan | undefined;
  /** Map values when absent from an entry: a zero value (messages: made by the value plan). */
  mapZero: unknown;
  verifyUtf8: boolean;
}

interface MessagePlan {
  typeName: string;
  byNumber: Array<FieldPlan | undefined>;
  /** Own properties of a zero message, in protobuf-es's order: [name, zero kind, scalar zero]. */
  zeros: Array<[string, "list" | "map" | "oneof" | "scalar", unknown]>;
}

const FALLBACK = Symbol("decoded by fromBinary");
const plans = new WeakMap<DescMessage, MessagePlan | null>();
const EDITION_PROTO3 = 999;
const MAX_DEPTH = 100;

function zeroOf(op: Op): unknown {
  switch (op) {
    case Op.String:
      return "";
    case Op.Bytes:
      return new Uint8Array(0);
    case Op.Bool:
      return false;
    default:
      return 0;
  }
}

function planOf(desc: DescMessage): MessagePlan | null {
  const known = plans.get(desc);
  if (known !== undefined) return known;
  // proto2 and editions messages keep defaults on a prototype chain: fromBinary's business.
  if (desc.file.edition !== EDITION_PROTO3) {
    plans.set(desc, null);
    return null;
  }
  const plan: MessagePlan = { typeName: desc.typeName, byNumber: [], zeros: [] };
  plans.set(desc, plan); // before the fields: recursive types refer to themselves
  for (const member of desc.members) {
    if (member.kind === "oneof") plan.zeros.push([member.localName, "oneof", undefined]);
    else if (member.fieldKind === "list") plan.zeros.push([member.localName, "list", undefined]);
    else if (member.fieldKind === "map") plan.zeros.push([member.localName, "map", undefined]);
    else if (member.fieldKind === "scalar" && member.presence === IMPLICIT) {
      const op = opOf(member.scalar);
      if (op === undefined) return refuse(desc);
      plan.zeros.push([member.localName, "scalar", zeroOf(op)]);
    } else if (member.fieldKind === "enum" && member.presence === IMPLICIT)
      plan.zeros.push([member.localName, "scalar", member.enum.values[0]!.number]);
  }
  for (const f of desc.fields) {
    const fp = compileField(f);
    if (!fp) return refuse(desc);
    plan.byNumber[f.number] = fp;
  }
  return plan;
}

function refuse(desc: DescMessage): null {
  plans.set(desc, null);
  return null;
}

function compileField(f: DescField): FieldPlan | undefined {
  if (f.number > 10_000) return undefined; // a dense table by number
  const base = {
    name: f.oneof ? f.oneof.localName : f.localName,
    oneofCase: f.oneof ? f.localName : undefined,
    message: undefined as MessagePlan | undefined,
    mapZero: undefined as unknown,
    verifyUtf8: f.utf8Validation,
  };
  const withMessage = (desc: DescMessage) => {
    if (isUnsupportedMessageField(f, desc)) return undefined;
    return planOf(desc) ?? undefined;
  };
  switch (f.fieldKind) {
    case "scalar": {
      const op = opOf(f.scalar);
      return op === undefined ? undefined : { ...base, shape: "single", op, wireType: wireTypeOf(op) };
    }
    case "enum":
      return { ...base, shape: "single", op: Op.Int32, wireType: 0 };
    case "message": {
      if (f.delimitedEncoding) return undefined;
      const message = withMessage(f.message);
      return message ? { ...base, shape: "single", op: Op.Message, wireType: 2, message } : undefined;
    }
    case "list": {
      if (f.listKind === "message") {
        if (f.delimitedEncoding) return undefined;
        const message = withMessage(f.message);
        return message ? { ...base, shape: "list", op: Op.Message, wireType: 2, message } : undefined;
      }
      const op = f.listKind === "enum" ? Op.Int32 : opOf(f.scalar);
      return op === undefined ? undefined : { ...base, shape: "list", op, wireType: wireTypeOf(op) };
    }
    case "map": {
      if (f.mapKey !== ScalarType.STRING) return undefined;
      if (f.mapKind === "message") {
        const message = withMessage(f.message);
        return message ? { ...base, shape: "map", op: Op.Message, wireType: 2, message } : undefined;
      }
      const op = f.mapKind === "enum" ? Op.Int32 : opOf(f.scalar);
      if (op === undefined) return undefined;
      return { ...base, shape: "map", op, wireType: 2, mapZero: f.mapKind === "enum" ? f.enum.values[0]!.number : zeroOf(op) };
    }
  }
}

// The input being read. Decoding is synchronous and does not nest, so module state serves.
let input: Uint8Array = new Uint8Array(0);
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let view: DataView | undefined;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const looseUtf8 = new TextDecoder("utf-8");

function varint32(): number {
  let b = buf[pos++]!;
  let v = b & 127;
  if (b < 128) return v;
  b = buf[pos++]!;
  v |= (b & 127) << 7;
  if (b < 128) return v;
  b = buf[pos++]!;
  v |= (b & 127) << 14;
  if (b < 128) return v;
  b = buf[pos++]!;
  v |= (b & 127) << 21;
  if (b < 128) return v;
  b = buf[pos++]!;
  v |= (b & 15) << 28;
  // Up to five more bytes of a 64-bit varint (a negative int32): their bits are dropped.
  for (let i = 0; b >= 128 && i < 5; i++) b = buf[pos++]!;
  if (b >= 128 || b === undefined) throw FALLBACK;
  return v;
}

/** A varint's truth: any bit set in any of its bytes (a bool may be written as a 64-bit varint). */
function varintBool(): boolean {
  let any = 0;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos++];
    if (b === undefined) throw FALLBACK;
    any |= b & 127;
    if (b < 128) return any !== 0;
  }
  throw FALLBACK;
}

function lengthEnd(limit: number): number {
  const len = varint32() >>> 0;
  const end = pos + len;
  if (end > limit) throw FALLBACK;
  return end;
}

function readString(limit: number, verify: boolean): string {
  const end = lengthEnd(limit);
  const start = pos;
  pos = end;
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString("latin1", start, end);
  const bytes = input.subarray(start, end);
  if (!verify) return looseUtf8.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw FALLBACK; // fromBinary raises its own error for it
  }
}

function dataView(): DataView {
  return (view ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
}

function readValue(fp: FieldPlan, limit: number, depth: number): unknown {
  switch (fp.op) {
    case Op.String:
      return readString(limit, fp.verifyUtf8);
    case Op.Bytes: {
      const end = lengthEnd(limit);
      const start = pos;
      pos = end;
      return input.subarray(start, end); // a view, as fromBinary's
    }
    case Op.Bool:
      return varintBool();
    case Op.Int32:
      return varint32();
    case Op.Uint32:
      return varint32() >>> 0;
    case Op.Double: {
      if (pos + 8 > limit) throw FALLBACK;
      const v = dataView().getFloat64(pos, true);
      pos += 8;
      return v;
    }
    case Op.Float: {
      if (pos + 4 > limit) throw FALLBACK;
      const v = dataView().getFloat32(pos, true);
      pos += 4;
      return v;
    }
    case Op.Message: {
      const end = lengthEnd(limit);
      const m = zeroMessage(fp.message!);
      readFields(fp.message!, m, end, depth + 1);
      return m;
    }
  }
}

function zeroMessage(plan: MessagePlan): Record<string, unknown> {
  const m: Record<string, unknown> = { $typeName: plan.typeName };
  for (const [name, kind, zero] of plan.zeros) {
    m[name] = kind === "list" ? [] : kind === "map" ? {} : kind === "oneof" ? { case: undefined } : zero;
  }
  return m;
}

function skipField(wireType: number, limit: number): void {
  switch (wireType) {
    case 0:
      varintBool();
      break;
    case 1:
      pos += 8;
      break;
    case 2:
      pos = lengthEnd(limit);
      break;
    case 5:
      pos += 4;
      break;
    default:
      throw FALLBACK; // groups
  }
  if (pos > limit) throw FALLBACK;
}

function readFields(plan: MessagePlan, m: Record<string, unknown>, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw FALLBACK;
  let unknown: Array<{ no: number; wireType: number; data: Uint8Array }> | undefined;
  while (pos < end) {
    const tag = varint32() >>> 0;
    const no = tag >>> 3;
    const wireType = tag & 7;
    const fp = plan.byNumber[no];
    if (fp === undefined || no === 0) {
      if (no === 0) throw FALLBACK;
      const start = pos;
      skipField(wireType, end);
      (unknown ??= (m.$unknown as typeof unknown) ?? []).push({ no, wireType, data: input.subarray(start, pos) });
      continue;
    }
    if (fp.shape === "map") {
      if (wireType !== 2) throw FALLBACK;
      readMapEntry(fp, m[fp.name] as Record<string, unknown>, end, depth);
      continue;
    }
    if (fp.shape === "list") {
      const list = m[fp.name] as unknown[];
      if (wireType === fp.wireType) list.push(readValue(fp, end, depth));
      else if (wireType === 2 && fp.op !== Op.Message) {
        const listEnd = lengthEnd(end);
        while (pos < listEnd) list.push(readValue(fp, listEnd, depth));
        if (pos !== listEnd) throw FALLBACK;
      } else throw FALLBACK;
      continue;
    }
    if (wireType !== fp.wireType) throw FALLBACK;
    if (fp.op === Op.Message) {
      // A message field that occurs again is merged into the one read before.
      const current =
        fp.oneofCase === undefined
          ? m[fp.name]
          : (m[fp.name] as { case?: string; value?: unknown }).case === fp.oneofCase
            ? (m[fp.name] as { value: unknown }).value
            : undefined;
      const target = (current as Record<string, unknown> | undefined) ?? zeroMessage(fp.message!);
      const msgEnd = lengthEnd(end);
      readFields(fp.message!, target, msgEnd, depth + 1);
      if (fp.oneofCase === undefined) m[fp.name] = target;
      else m[fp.name] = { case: fp.oneofCase, value: target };
      continue;
    }
    const v = readValue(fp, end, depth);
    if (fp.oneofCase === undefined) m[fp.name] = v;
    else m[fp.name] = { case: fp.oneofCase, value: v };
  }
  if (pos !== end) throw FALLBACK;
  if (unknown) m.$unknown = unknown;
}

function readMapEntry(fp: FieldPlan, map: Record<string, unknown>, limit: number, depth: number): void {
  const end = lengthEnd(limit);
  let key = "";
  let value: unknown;
  while (pos < end) {
    const tag = varint32() >>> 0;
    if (tag === ((1 << 3) | 2)) key = readString(end, fp.verifyUtf8);
    else if (tag === ((2 << 3) | fp.wireType)) value = readValue(fp, end, depth);
    else throw FALLBACK;
  }
  if (pos !== end) throw FALLBACK;
  map[key] =
    value !== undefined ? value : fp.op === Op.Message ? zeroMessage(fp.message!) : fp.op === Op.Bytes ? new Uint8Array(0) : fp.mapZero;
}

/** Decodes a message from its protobuf binary encoding: what protobuf-es's fromBinary returns. */
export function decodeMessage<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  const plan = planOf(schema);
  if (!plan) return fromBinary(schema, bytes);
  input = bytes;
  buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view = undefined;
  pos = 0;
  try {
    const m = zeroMessage(plan);
    readFields(plan, m, bytes.byteLength, 1);
    return m as MessageShape<Desc>;
  } catch (e) {
    if (e === FALLBACK || e instanceof RangeError) return fromBinary(schema, bytes);
    throw e;
  } finally {
    input = buf = EMPTY;
  }
}
const EMPTY = Buffer.alloc(0);

/** Whether messages of this type are decoded here rather than by fromBinary (for tests). */
export function hasCompiledDecoder(schema: DescMessage): boolean {
  return planOf(schema) !== null;
}
