import { toBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { IMPLICIT, LEGACY_REQUIRED, Op, WIRE_LEN, isUnsupportedMessageField, opOf, wireTypeOf } from "./binaryOps.js";

/*
 * Protobuf binary encoding of protobuf-es messages, byte for byte what toBinary writes, at a
 * fraction of its cost. Written by hand because protobuf-es v2 has no generated or compiled
 * encoder: its toBinary reflects over every field of every message (several times the cost of its JSON;
 * figures in bench/RESULTS.md), and each API request encodes objects several times on both sides. No other library
 * encodes protobuf-es messages: protobufjs has its own message shape (oneofs, int64, enums differ).
 *
 * Each message type is compiled once into a plan: its fields in number order with their tag bytes.
 * Encoding is two passes over the message: the first sums sizes and records every
 * length-delimited part's length in order; the second writes into one buffer of the exact size.
 * Types it does not know (64-bit integers, fixed-width and zigzag types, groups, required
 * fields) are left to toBinary, as is any value of the wrong type, so toBinary's errors stand.
 */

interface FieldPlan {
  /** The field's property, or its oneof's property when it is a oneof member. */
  name: string;
  /** For a oneof member: the case name that selects it. */
  oneofCase: string | undefined;
  /** The tag bytes (field number and wire type) as a varint. */
  tag: number[];
  shape: "single" | "list" | "packed" | "map";
  /** Implicit presence: written only when not its type's zero value. */
  implicit: boolean;
  /** Explicit presence: written when set (own property, not undefined), zero or not. */
  explicit: boolean;
  op: Op;
  /** For enums with implicit presence: the zero value (the enum's first). */
  enumZero: number;
  message: MessagePlan | undefined;
}

interface MessagePlan {
  fields: FieldPlan[];
}

/** Thrown while encoding to hand the whole message to toBinary. */
const UNSUPPORTED = Symbol("unsupported by encodeMessage");

const plans = new WeakMap<DescMessage, MessagePlan | null>();

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** The plan of a message type, or null when some field in it (or below it) is not supported. */
function planOf(desc: DescMessage): MessagePlan | null {
  const known = plans.get(desc);
  if (known !== undefined) return known;
  const plan: MessagePlan = { fields: [] };
  plans.set(desc, plan); // before the fields: recursive types (Struct, Value) refer to themselves
  const ok = compileFields(desc, plan);
  if (!ok) plans.set(desc, null);
  return ok ? plan : null;
}

function compileFields(desc: DescMessage, plan: MessagePlan): boolean {
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) {
    const fp = compileField(f);
    if (!fp) return false;
    plan.fields.push(fp);
  }
  return true;
}

function compileField(f: DescField): FieldPlan | undefined {
  if (f.presence === LEGACY_REQUIRED) return undefined;
  if (
    (f.fieldKind === "message" || f.fieldKind === "list" || f.fieldKind === "map") &&
    f.message &&
    isUnsupportedMessageField(f, f.message)
  )
    return undefined;
  const base = {
    name: f.oneof ? f.oneof.localName : f.localName,
    oneofCase: f.oneof ? f.localName : undefined,
    implicit: !f.oneof && f.presence === IMPLICIT,
    explicit: !f.oneof && f.presence !== IMPLICIT,
    enumZero: 0,
    message: undefined as MessagePlan | undefined,
  };
  const tagOf = (op: Op, packed = false) => varintBytes(((f.number << 3) | (packed ? WIRE_LEN : wireTypeOf(op))) >>> 0);
  switch (f.fieldKind) {
    case "scalar": {
      const op = opOf(f.scalar);
      return op === undefined ? undefined : { ...base, tag: tagOf(op), shape: "single", op };
    }
    case "enum":
      return { ...base, tag: tagOf(Op.Int32), shape: "single", op: Op.Int32, enumZero: f.enum.values[0]?.number ?? 0 };
    case "message": {
      if (f.delimitedEncoding) return undefined;
      const message = planOf(f.message);
      return message ? { ...base, tag: tagOf(Op.Message), shape: "single", op: Op.Message, message } : undefined;
    }
    case "list": {
      let op: Op | undefined;
      let message: MessagePlan | undefined;
      if (f.listKind === "message") {
        if (f.delimitedEncoding) return undefined;
        op = Op.Message;
        message = planOf(f.message) ?? undefined;
        if (!message) return undefined;
      } else op = f.listKind === "enum" ? Op.Int32 : opOf(f.scalar);
      if (op === undefined) return undefined;
      const packed = f.packed && op !== Op.String && op !== Op.Bytes && op !== Op.Message;
      return { ...base, tag: tagOf(op, packed), shape: packed ? "packed" : "list", op, message };
    }
    case "map": {
      const keyOp = opOf(f.mapKey);
      // Keys other than strings come back from Object.keys as strings: left to toBinary.
      if (keyOp !== Op.String) return undefined;
      let op: Op | undefined;
      let message: MessagePlan | undefined;
      if (f.mapKind === "message") {
        op = Op.Message;
        message = planOf(f.message) ?? undefined;
        if (!message) return undefined;
      } else op = f.mapKind === "enum" ? Op.Int32 : opOf(f.scalar);
      if (op === undefined) return undefined;
      return { ...base, tag: tagOf(Op.Message), shape: "map", op, message };
    }
  }
}

// Lengths of length-delimited parts (strings, messages, packed lists, map entries), in the order
// the write pass meets them. Shared: encoding is synchronous and does not nest.
let lengths: number[] = [];
let lengthCount = 0;
let readIndex = 0;

const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, "utf8");
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 4;
      i++;
    } else len += 3; // a lone surrogate is written as U+FFFD, three bytes
  }
  return len;
}

function pushLength(n: number): void {
  lengths[lengthCount++] = n;
}

/** Size of one value (without its tag); records lengths for the write pass. */
function valueSize(op: Op, v: unknown, message: MessagePlan | undefined): number {
  switch (op) {
    case Op.String: {
      if (typeof v !== "string") throw UNSUPPORTED;
      const len = utf8Length(v);
      pushLength(len);
      return varintSize(len) + len;
    }
    case Op.Bytes:
      if (!(v instanceof Uint8Array)) throw UNSUPPORTED;
      return varintSize(v.length) + v.length;
    case Op.Bool:
      if (typeof v !== "boolean") throw UNSUPPORTED;
      return 1;
    case Op.Int32:
      if (typeof v !== "number" || (v | 0) !== v) throw UNSUPPORTED;
      return v < 0 ? 10 : varintSize(v);
    case Op.Uint32:
      if (typeof v !== "number" || v >>> 0 !== v) throw UNSUPPORTED;
      return varintSize(v);
    case Op.Double:
      if (typeof v !== "number") throw UNSUPPORTED;
      return 8;
    case Op.Float:
      if (typeof v !== "number") throw UNSUPPORTED;
      return 4;
    case Op.Message: {
      if (typeof v !== "object" || v === null) throw UNSUPPORTED;
      const at = lengthCount++;
      const len = messageSize(message!, v as Record<string, unknown>);
      lengths[at] = len;
      return varintSize(len) + len;
    }
  }
}

function isZero(fp: FieldPlan, v: unknown): boolean {
  switch (fp.op) {
    case Op.String:
      return v === "";
    case Op.Bytes:
      return v instanceof Uint8Array && v.length === 0;
    case Op.Bool:
      return v === false;
    case Op.Double:
    case Op.Float:
      return Object.is(v, 0);
    case Op.Int32:
      return v === fp.enumZero;
    default:
      return v === 0;
  }
}

/** The field's value when it is to be written, else undefined. */
function presentValue(fp: FieldPlan, msg: Record<string, unknown>): unknown {
  const raw = msg[fp.name];
  if (fp.oneofCase !== undefined) {
    const sel = raw as { case: string | undefined; value: unknown } | undefined;
    return sel !== undefined && sel.case === fp.oneofCase ? sel.value : undefined;
  }
  if (raw === undefined) return undefined;
  if (fp.explicit && !Object.hasOwn(msg, fp.name)) return undefined;
  switch (fp.shape) {
    case "single":
      return fp.implicit && isZero(fp, raw) ? undefined : raw;
    case "map":
      if (typeof raw !== "object" || raw === null) throw UNSUPPORTED;
      for (const _ in raw) return raw;
      return undefined;
    default:
      if (!Array.isArray(raw)) throw UNSUPPORTED;
      return raw.length ? raw : undefined;
  }
}

function messageSize(plan: MessagePlan, msg: Record<string, unknown>): number {
  let size = 0;
  for (const fp of plan.fields) {
    const v = presentValue(fp, msg);
    if (v === undefined) continue;
    const tagLen = fp.tag.length;
    switch (fp.shape) {
      case "single":
        size += tagLen + valueSize(fp.op, v, fp.message);
        break;
      case "list":
        for (const item of v as unknown[]) size += tagLen + valueSize(fp.op, item, fp.message);
        break;
      case "packed": {
        const at = lengthCount++;
        let len = 0;
        for (const item of v as unknown[]) len += valueSize(fp.op, item, undefined);
        lengths[at] = len;
        size += tagLen + varintSize(len) + len;
        break;
      }
      case "map": {
        const map = v as Record<string, unknown>;
        for (const key of Object.keys(map)) {
          const at = lengthCount++;
          const len = 1 + valueSize(Op.String, key, undefined) + 1 + valueSize(fp.op, map[key], fp.message);
          lengths[at] = len;
          size += tagLen + varintSize(len) + len;
        }
        break;
      }
    }
  }
  const unknown = (msg as { $unknown?: Array<{ no: number; wireType: number; data: Uint8Array }> }).$unknown;
  if (unknown) for (const u of unknown) size += varintSize(((u.no << 3) | u.wireType) >>> 0) + u.data.length;
  return size;
}

class Writer {
  pos = 0;
  private view: DataView | undefined;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    const buf = this.buf;
    while (n > 127) {
      buf[this.pos++] = (n & 127) | 128;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** A negative int32: ten bytes, two's complement of 64 bits. */
  negativeVarint(n: number): void {
    let lo = n >>> 0;
    let hi = 0xffffffff;
    const buf = this.buf;
    while (hi) {
      buf[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[this.pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  raw(bytes: ArrayLike<number>): void {
    const buf = this.buf;
    if (bytes.length < 16) for (let i = 0; i < bytes.length; i++) buf[this.pos++] = bytes[i]!;
    else {
      buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
  }

  string(s: string, len: number): void {
    this.varint(len);
    const buf = this.buf;
    // ASCII (one byte a character) is copied here: shorter than a call into Buffer's native code.
    if (len === s.length && len < 64) for (let i = 0; i < len; i++) buf[this.pos++] = s.charCodeAt(i);
    else {
      // utf8: a lone surrogate becomes U+FFFD, as with toBinary's TextEncoder.
      buf.write(s, this.pos, len, len === s.length ? "latin1" : "utf8");
      this.pos += len;
    }
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  double(v: number): void {
    this.dataView().setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  float(v: number): void {
    this.dataView().setFloat32(this.pos, v, true);
    this.pos += 4;
  }
}

function writeValue(w: Writer, op: Op, v: unknown, message: MessagePlan | undefined): void {
  switch (op) {
    case Op.String:
      w.string(v as string, lengths[readIndex++]!);
      return;
    case Op.Bytes:
      w.varint((v as Uint8Array).length);
      w.raw(v as Uint8Array);
      return;
    case Op.Bool:
      w.buf[w.pos++] = v ? 1 : 0;
      return;
    case Op.Int32:
      if ((v as number) < 0) w.negativeVarint(v as number);
      else w.varint(v as number);
      return;
    case Op.Uint32:
      w.varint(v as number);
      return;
    case Op.Double:
      w.double(v as number);
      return;
    case Op.Float:
      w.float(v as number);
      return;
    case Op.Message:
      w.varint(lengths[readIndex++]!);
      writeMessage(w, message!, v as Record<string, unknown>);
      return;
  }
}

function writeMessage(w: Writer, plan: MessagePlan, msg: Record<string, unknown>): void {
  for (const fp of plan.fields) {
    const v = presentValue(fp, msg);
    if (v === undefined) continue;
    switch (fp.shape) {
      case "single":
        w.raw(fp.tag);
        writeValue(w, fp.op, v, fp.message);
        break;
      case "list":
        for (const item of v as unknown[]) {
          w.raw(fp.tag);
          writeValue(w, fp.op, item, fp.message);
        }
        break;
      case "packed":
        w.raw(fp.tag);
        w.varint(lengths[readIndex++]!);
        for (const item of v as unknown[]) writeValue(w, fp.op, item, undefined);
        break;
      case "map": {
        const map = v as Record<string, unknown>;
        const valueTag = (2 << 3) | wireTypeOf(fp.op);
        for (const key of Object.keys(map)) {
          w.raw(fp.tag);
          w.varint(lengths[readIndex++]!);
          w.buf[w.pos++] = (1 << 3) | WIRE_LEN;
          writeValue(w, Op.String, key, undefined);
          w.buf[w.pos++] = valueTag;
          writeValue(w, fp.op, map[key], fp.message);
        }
        break;
      }
    }
  }
  const unknown = (msg as { $unknown?: Array<{ no: number; wireType: number; data: Uint8Array }> }).$unknown;
  if (unknown)
    for (const u of unknown) {
      w.varint(((u.no << 3) | u.wireType) >>> 0);
      w.raw(u.data);
    }
}

/** The message's protobuf binary encoding: the same bytes as protobuf-es's toBinary. */
export function encodeMessage<Desc extends DescMessage>(schema: Desc, message: Message): Uint8Array {
  const plan = planOf(schema);
  if (!plan) return toBinary(schema, message as never);
  // A large message's lengths are not kept alive by the small ones after it.
  if (lengths.length > 65_536) lengths = [];
  lengthCount = 0;
  readIndex = 0;
  let size: number;
  try {
    size = messageSize(plan, message as unknown as Record<string, unknown>);
  } catch (e) {
    if (e === UNSUPPORTED) return toBinary(schema, message as never);
    throw e;
  }
  const buf = Buffer.allocUnsafe(size);
  const w = new Writer(buf);
  writeMessage(w, plan, message as unknown as Record<string, unknown>);
  if (w.pos !== size) throw new Error(`binary encoding of ${schema.typeName}: wrote ${w.pos} bytes of ${size}`);
  return buf;
}

/** Whether messages of this type are encoded here rather than handed to toBinary (for tests). */
export function hasCompiledEncoder(schema: DescMessage): boolean {
  return planOf(schema) !== null;
}
