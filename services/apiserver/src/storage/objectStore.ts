import type { Etcd3 } from "etcd3";
import { create, fromJson } from "@bufbuild/protobuf";
import { decodeMessage, encodeMessage, type KindDefinition, type KubeObject } from "@kubelab/api";
import { withDeadline } from "./etcdClient.js";
import { LeaseManager } from "./leaseManager.js";
import { storageKey, prefixEnd } from "./keys.js";

export interface Versioned {
  obj: KubeObject;
  /** etcd mod_revision: the object's resourceVersion. */
  rev: number;
}

export type WriteResult = { ok: true; rev: number } | { ok: false; current?: Versioned; takenClaims?: string[] };

/**
 * A claim is a unique thing an object holds (a Service's ClusterIP, a NodePort), kept as a key
 * beside the object and written in the same transaction, so two objects can never hold the
 * same one, even when two API servers allocate at once. Outside /registry/: not an object.
 */
export const CLAIM_PREFIX = "/kubelab/claims/";
const claimKey = (claim: string) => CLAIM_PREFIX + claim;

interface RawKV {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
}

/**
 * The first bytes of every stored object: the object's protobuf encoding follows. Kubernetes
 * stores protobuf too, behind "k8s\0" and a runtime.Unknown envelope; kubelab's own prefix says
 * these are not that envelope (the key's resource names the message type).
 */
export const STORAGE_MAGIC = Buffer.from("kubelab\0");
const hasStorageMagic = (b: Buffer) => b.length >= STORAGE_MAGIC.length && STORAGE_MAGIC.equals(b.subarray(0, STORAGE_MAGIC.length));

/**
 * The value itself when it is a whole buffer, else a copy. Decoded bytes fields (a Secret's data)
 * are views of their input, and an etcd value is a view of the response it came in: a copy keeps
 * a cached object from holding on to the whole response.
 */
export function ownedCopy(value: Uint8Array): Buffer {
  const whole = value.byteLength === value.buffer.byteLength ? value : new Uint8Array(value);
  return Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
}

/** The object's protobuf encoding in a stored value (without resourceVersion); undefined for a JSON value. */
export function storedEncoding(value: Buffer): Buffer | undefined {
  return hasStorageMagic(value) ? value.subarray(STORAGE_MAGIC.length) : undefined;
}

// Written by hand: the wire form of an object at a revision is its stored bytes with
// metadata.resourceVersion set inside the metadata field, made by copying bytes around one
// splice, where a protobuf library would decode and encode the whole object.
const METADATA_TAG = (3 << 3) | 2; // every kind's metadata is field 3
const RESOURCE_VERSION_TAG = (5 << 3) | 2; // ObjectMeta.resource_version

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Where the top-level metadata field's tag, payload and end are in `bytes`, if it has one. */
function findMetadata(bytes: Uint8Array): { tagAt: number; payloadAt: number; end: number } | undefined {
  let pos = 0;
  const varint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[pos++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80 || pos >= bytes.length) return n;
    }
  };
  while (pos < bytes.length) {
    const tagAt = pos;
    const tag = varint();
    switch (tag & 7) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const len = varint();
        if (tag === METADATA_TAG) return { tagAt, payloadAt: pos, end: pos + len };
        pos += len;
        break;
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

/**
 * The wire encoding of a stored object at a revision, with no decoding or encoding of the object:
 * its stored encoding with resource_version added at the end of its one metadata field. (Not a
 * second metadata field: protobuf parsers should merge the two, and protobuf-es, Go and Python do,
 * but protobufjs, under @grpc/proto-loader, keeps only the last.)
 */
export function encodingAtRevision(def: KindDefinition, stored: Uint8Array, rev: number): Uint8Array {
  const rv = Buffer.from(String(rev));
  const rvField = [RESOURCE_VERSION_TAG, ...varintBytes(rv.length)];
  const meta = findMetadata(stored);
  if (!meta) {
    // An object stored without metadata: one metadata field holding only the resourceVersion.
    const suffix = encodeMessage(def.schema, create(def.schema, { metadata: { resourceVersion: String(rev) } } as never));
    return Buffer.concat([stored, suffix]);
  }
  const payloadLen = meta.end - meta.payloadAt + rvField.length + rv.length;
  const head = [METADATA_TAG, ...varintBytes(payloadLen)];
  const out = Buffer.allocUnsafe(meta.tagAt + head.length + payloadLen + (stored.length - meta.end));
  let pos = 0;
  out.set(stored.subarray(0, meta.tagAt), pos);
  pos += meta.tagAt;
  out.set(head, pos);
  pos += head.length;
  out.set(stored.subarray(meta.payloadAt, meta.end), pos);
  pos += meta.end - meta.payloadAt;
  out.set(rvField, pos);
  pos += rvField.length;
  out.set(rv, pos);
  pos += rv.length;
  out.set(stored.subarray(meta.end), pos);
  return out;
}

/**
 * Objects in etcd. Values are STORAGE_MAGIC and the object's protobuf encoding (as Kubernetes
 * stores protobuf: smaller and cheaper to write than JSON) without resourceVersion, which is the
 * key's mod_revision. Writes are transactions that compare create_revision or mod_revision, so
 * of two writers of the same version only one wins.
 */
export class ObjectStore {
  private readonly leases: LeaseManager;

  constructor(
    readonly etcd: Etcd3,
    private readonly timeoutMs: number,
    /** Seconds objects of a kind live after their last write, by kind (Event: --event-ttl); etcd deletes them then. */
    private readonly ttlSeconds: Readonly<Record<string, number>> = {},
  ) {
    this.leases = new LeaseManager(etcd, timeoutMs);
  }

  /** The lease an object's key is written under when its kind expires. */
  private async leaseOf(def: KindDefinition): Promise<string | undefined> {
    const ttl = this.ttlSeconds[def.kind];
    return ttl ? this.leases.leaseFor(ttl) : undefined;
  }

  // Not async: a PutBuilder is a thenable, and awaiting one runs the put on its own.
  private putOf(key: string, value: Buffer, lease: string | undefined) {
    const put = this.etcd.put(key).value(value);
    return lease ? put.lease(lease) : put;
  }

  encode(def: KindDefinition, obj: KubeObject): Buffer {
    // resourceVersion is the key's mod_revision, never stored; blanked in place rather than on a
    // copy, as cloning costs more than the encoding itself.
    const rv = obj.metadata?.resourceVersion ?? "";
    if (obj.metadata) obj.metadata.resourceVersion = "";
    try {
      const body = encodeMessage(def.schema, obj);
      const value = Buffer.allocUnsafe(STORAGE_MAGIC.length + body.length);
      STORAGE_MAGIC.copy(value, 0);
      value.set(body, STORAGE_MAGIC.length);
      return value;
    } finally {
      if (obj.metadata) obj.metadata.resourceVersion = rv;
    }
  }

  decode(def: KindDefinition, value: Buffer | Uint8Array, rev: number): KubeObject {
    const bytes = ownedCopy(value);
    const obj = (
      hasStorageMagic(bytes)
        ? decodeMessage(def.schema, bytes.subarray(STORAGE_MAGIC.length))
        : // JSON, as earlier kubelab versions stored objects: a lab's etcd volume outlives upgrades.
          fromJson(def.schema, JSON.parse(bytes.toString("utf8")), { ignoreUnknownFields: true })
    ) as KubeObject;
    obj.apiVersion = def.apiVersion;
    obj.kind = def.kind;
    if (obj.metadata) obj.metadata.resourceVersion = String(rev);
    return obj;
  }

  private op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.timeoutMs, what, fn);
  }

  async get(def: KindDefinition, namespace: string, name: string): Promise<Versioned | undefined> {
    const res = await this.op("get", () => this.etcd.kv.range({ key: Buffer.from(storageKey(def, namespace, name)) }));
    const kv = res.kvs[0] as RawKV | undefined;
    return kv ? { obj: this.decode(def, kv.value, Number(kv.mod_revision)), rev: Number(kv.mod_revision) } : undefined;
  }

  /** Creates the key (and takes its claims) only if neither exists; otherwise says what is there. */
  async create(def: KindDefinition, obj: KubeObject, value: Buffer, claims: readonly string[] = []): Promise<WriteResult> {
    const key = storageKey(def, obj.metadata!.namespace, obj.metadata!.name);
    const lease = await this.leaseOf(def);
    const res = await this.op("create", () => {
      let cmp = this.etcd.if(key, "Create", "==", 0);
      for (const c of claims) cmp = cmp.and(claimKey(c), "Create", "==", 0);
      return cmp
        .then(this.putOf(key, value, lease), ...claims.map((c) => this.etcd.put(claimKey(c)).value(key)))
        .else(this.etcd.get(key), ...claims.map((c) => this.etcd.get(claimKey(c))))
        .commit();
    });
    if (res.succeeded) return { ok: true, rev: Number(res.header.revision) };
    const current = this.fromRangeResponse(def, res.responses[0]);
    // A retried attempt (the first timed out after etcd applied it) finds our own object: same uid.
    if (current && current.obj.metadata?.uid === obj.metadata?.uid) return { ok: true, rev: current.rev };
    return { ok: false, current, takenClaims: this.taken(claims, res.responses.slice(1), key) };
  }

  /** Writes the object only if the key's mod_revision is still expectedRev, taking and releasing claims with it. */
  async update(
    def: KindDefinition,
    obj: KubeObject,
    value: Buffer,
    expectedRev: number,
    claims: { take: readonly string[]; release: readonly string[] } = { take: [], release: [] },
  ): Promise<WriteResult> {
    const key = storageKey(def, obj.metadata!.namespace, obj.metadata!.name);
    // A put without a lease would detach the key from its lease: an update renews the TTL, as in Kubernetes.
    const lease = await this.leaseOf(def);
    const res = await this.op("update", () => {
      let cmp = this.etcd.if(key, "Mod", "==", expectedRev);
      for (const c of claims.take) cmp = cmp.and(claimKey(c), "Create", "==", 0);
      return cmp
        .then(
          this.putOf(key, value, lease),
          ...claims.take.map((c) => this.etcd.put(claimKey(c)).value(key)),
          ...claims.release.map((c) => this.etcd.delete().key(claimKey(c))),
        )
        .else(this.etcd.get(key), ...claims.take.map((c) => this.etcd.get(claimKey(c))))
        .commit();
    });
    if (res.succeeded) return { ok: true, rev: Number(res.header.revision) };
    const current = this.fromRangeResponse(def, res.responses[0]);
    return { ok: false, current, takenClaims: this.taken(claims.take, res.responses.slice(1), key) };
  }

  /** Deletes the key (and releases its claims) only if its mod_revision is still expectedRev. */
  async delete(
    def: KindDefinition,
    namespace: string,
    name: string,
    expectedRev: number,
    claims: readonly string[] = [],
  ): Promise<WriteResult> {
    const key = storageKey(def, namespace, name);
    const res = await this.op("delete", () =>
      this.etcd
        .if(key, "Mod", "==", expectedRev)
        .then(this.etcd.delete().key(key), ...claims.map((c) => this.etcd.delete().key(claimKey(c))))
        .else(this.etcd.get(key))
        .commit(),
    );
    if (res.succeeded) return { ok: true, rev: Number(res.header.revision) };
    return { ok: false, current: this.fromRangeResponse(def, res.responses[0]) };
  }

  /** Which claims another object holds, from the else-branch reads of a failed transaction. */
  private taken(claims: readonly string[], responses: Array<{ response_range?: { kvs: RawKV[] } }>, ownKey: string): string[] {
    return claims.filter((_, i) => {
      const kv = responses[i]?.response_range?.kvs[0];
      return kv !== undefined && kv.value.toString() !== ownKey;
    });
  }

  private fromRangeResponse(def: KindDefinition, r: { response_range?: { kvs: RawKV[] } } | undefined): Versioned | undefined {
    const kv = r?.response_range?.kvs[0];
    return kv ? { obj: this.decode(def, kv.value, Number(kv.mod_revision)), rev: Number(kv.mod_revision) } : undefined;
  }

  /** etcd's current revision, read with a quorum (linearizable). */
  async currentRevision(): Promise<number> {
    const res = await this.op("revision", () =>
      this.etcd.kv.range({ key: Buffer.from("/registry/"), range_end: prefixEnd("/registry/"), count_only: true, limit: 1 }),
    );
    return Number(res.header.revision);
  }

  /** Raw key-values in [start, end) at a revision (0: now), up to limit (0: all). */
  async range(start: Buffer, end: Buffer, revision: number, limit: number): Promise<{ kvs: RawKV[]; more: boolean; revision: number }> {
    const res = await this.op("list", () =>
      this.etcd.kv.range({ key: start, range_end: end, revision: revision || undefined, limit: limit || undefined }),
    );
    return { kvs: res.kvs as RawKV[], more: res.more, revision: Number(res.header.revision) };
  }

  async compact(revision: number): Promise<void> {
    await this.op("compact", () => this.etcd.kv.compact({ revision: String(revision), physical: false }));
  }
}
