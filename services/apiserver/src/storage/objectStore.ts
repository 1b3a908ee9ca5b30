import type { Etcd3 } from "etcd3";
import { create, fromJson } from "@bufbuild/protobuf";
import { decodeMessage, encodeMessage, type KindDefinition, type KubeObject } from "@kubelab/api";
import { withDeadline } from "./etcdClient.js";
import { LeaseManager } from "./leaseManager.js";
import { objectKey, prefixEnd } from "./keys.js";

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

/**
 * The wire encoding of a stored object at a revision, with no decoding or encoding of the object:
 * its stored encoding followed by a metadata holding only resourceVersion. Protobuf parsers merge
 * a singular message field that occurs twice, so this decodes to the object with its
 * resourceVersion set.
 */
export function encodingAtRevision(def: KindDefinition, stored: Uint8Array, rev: number): Uint8Array {
  const suffix = encodeMessage(def.schema, create(def.schema, { metadata: { resourceVersion: String(rev) } } as never));
  const out = Buffer.allocUnsafe(stored.length + suffix.length);
  out.set(stored, 0);
  out.set(suffix, stored.length);
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
    const res = await this.op("get", () => this.etcd.kv.range({ key: Buffer.from(objectKey(def, namespace, name)) }));
    const kv = res.kvs[0] as RawKV | undefined;
    return kv ? { obj: this.decode(def, kv.value, Number(kv.mod_revision)), rev: Number(kv.mod_revision) } : undefined;
  }

  /** Creates the key (and takes its claims) only if neither exists; otherwise says what is there. */
  async create(def: KindDefinition, obj: KubeObject, value: Buffer, claims: readonly string[] = []): Promise<WriteResult> {
    const key = objectKey(def, obj.metadata!.namespace, obj.metadata!.name);
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
    const key = objectKey(def, obj.metadata!.namespace, obj.metadata!.name);
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
  async delete(def: KindDefinition, namespace: string, name: string, expectedRev: number, claims: readonly string[] = []): Promise<WriteResult> {
    const key = objectKey(def, namespace, name);
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
