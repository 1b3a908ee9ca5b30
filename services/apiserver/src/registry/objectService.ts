import { randomUUID } from "node:crypto";
import { clone, create, equals } from "@bufbuild/protobuf";
import {
  InvalidObjectError,
  ObjectMetaSchema,
  forbidden as forbiddenField,
  formatTime,
  hasField,
  kindForResource,
  kindOf,
  objectToJson,
  qualifiedKind,
  validateObjectMeta,
  validateObjectMetaUpdate,
  type FieldError,
  type KindDefinition,
  type KubeObject,
  type StorageClass,
} from "@kubelab/api";
import {
  alreadyExists,
  badRequest,
  notFoundResource,
  conflict,
  forbidden,
  gone,
  invalidContinue,
  methodNotAllowed,
  namespaceNotFound,
  notFound,
  tooLarge,
} from "../apiErrors.js";
import { FutureRevisionError, RevisionCompactedError } from "../storage/etcdClient.js";
import { storedEncoding, type ObjectStore, type Versioned, type WriteResult } from "../storage/objectStore.js";
import { CacheEntry, type Filter, type WatchCache } from "../storage/watchCache.js";
import { storageKey, prefixEnd, resourcePrefix } from "../storage/keys.js";
import { admitOnCreate, type AdmissionLookups, type AdmissionOptions } from "./admission.js";
import { objectFilter } from "./selectors.js";
import { ClaimAttempts } from "./claimAttempts.js";
import { decodeContinue, encodeContinue } from "./continueToken.js";
import { listBounds, type ListBounds, type ListSize } from "./listPaging.js";
import { applyMergePatch, decodePatched, parseMergePatch, pinnedResourceVersion } from "./mergePatch.js";
import type { Allocator } from "./serviceAllocator.js";

export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
const MAX_UPDATE_ATTEMPTS = 16;
const CONTINUE_TOO_OLD =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

export interface ObjectServiceOptions extends AdmissionOptions {
  /** How long a LIST waits for the watch cache to catch up before reading etcd itself. */
  listCacheWaitMs: number;
  /** Kinds whose objects hold unique resources (a Service's ClusterIP and NodePorts), by kind. */
  allocators?: Record<string, Allocator>;
}

/** How a write treats its request, as Kubernetes' CreateOptions, UpdateOptions and PatchOptions say. */
export interface WriteOptions {
  /** dryRun=All: defaulted, admitted, validated and answered as it would be stored, and nothing written. */
  dryRun?: boolean;
  /**
   * fieldValidation Ignore or Warn for a patch: the patched object's unknown fields are left out
   * and their paths listed here (for Warn's warnings) rather than refused (Strict, when unset).
   */
  droppedFields?: string[];
}

/** Attempts at picking unique resources before giving up on a busy range. */
const MAX_ALLOCATION_ATTEMPTS = 10;

export interface ListQuery extends ListSize {
  namespace: string;
  labelSelector: string;
  fieldSelector: string;
  continue: string;
}

export interface ListPage {
  entries: CacheEntry[];
  resourceVersion: string;
  continue: string;
  remaining?: number;
}

/** Kubernetes' timestamp of now, or of `offsetSeconds` from now. */
export const nowTimestamp = (offsetSeconds = 0) => formatTime(Date.now() + offsetSeconds * 1000);

// Kubernetes' generateName alphabet: no vowels, no confusable characters.
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
const randomSuffix = () => Array.from({ length: 5 }, () => NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)]).join("");

function throwIfInvalid(def: KindDefinition, obj: KubeObject, errs: FieldError[]): void {
  if (errs.length) throw new InvalidObjectError(qualifiedKind(def), obj.metadata?.name || obj.metadata?.generateName || "", errs);
}

/** Whether two objects of a kind have the same spec (compared as messages: no encoding, no allocation). */
const sameSpec = (def: KindDefinition, a: KubeObject, b: KubeObject): boolean => {
  const field = def.schema.fields.find((f) => f.name === "spec");
  if (field?.fieldKind !== "message") return true;
  const x = (a as unknown as Record<string, unknown>).spec;
  const y = (b as unknown as Record<string, unknown>).spec;
  if (!x || !y) return !x === !y;
  return equals(field.message, x as never, y as never);
};

/**
 * The generic behaviour of every kind: defaulting, validation, optimistic concurrency,
 * status subresource, merge patch and graceful deletion. Kinds differ only by their registration.
 */
export class ObjectService {
  constructor(
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
    private readonly opts: ObjectServiceOptions,
  ) {}

  /** Admission reads the watch cache: what a create is checked against may be a moment old, as Kubernetes' informer-fed plugins. */
  private readonly admissionLookups: AdmissionLookups = {
    storageClasses: () => {
      const def = kindForResource("storageclasses")!;
      return this.cache.list(def.resource, resourcePrefix(def)).map((e) => e.obj as StorageClass);
    },
  };

  resolve(resource: string): KindDefinition {
    const def = kindForResource(resource);
    if (!def) throw notFoundResource(resource);
    return def;
  }

  async create(input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const def = stored(kindOf(input));
    // The input was just decoded from the request and is ours to change.
    const obj = input;
    const meta = (obj.metadata ??= create(ObjectMetaSchema));
    if (def.namespaced && !meta.namespace) meta.namespace = "default";
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    meta.resourceVersion = "";
    meta.deletionTimestamp = "";
    meta.deletionGracePeriodSeconds = undefined;
    meta.generation = hasField(def.schema, "spec") ? 1 : 0;
    def.prepareForCreate?.(obj);
    def.defaults?.(obj);
    admitOnCreate(obj, this.opts, this.admissionLookups);
    throwIfInvalid(def, obj, [...validateObjectMeta(def, obj), ...(def.validate?.(obj) ?? [])]);
    if (def.namespaced) await this.checkNamespace(def, meta.namespace, meta.name);
    const alloc = this.opts.allocators?.[def.kind];
    if (opts.dryRun) return this.dryRunCreate(def, obj, alloc);
    if (!alloc) {
      const res = await this.write(def, obj, this.encodeChecked(def, obj), (value) => this.store.create(def, obj, value));
      if (!res.ok) throw alreadyExists(def, meta.name);
      return obj;
    }
    // What the client asked for by value is checked; what it left out is picked, and picked
    // again if another writer took it first.
    const claims = new ClaimAttempts(def, alloc);
    for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
      const candidate = clone(def.schema, obj) as KubeObject;
      claims.assign(candidate);
      const res = await this.write(def, candidate, this.encodeChecked(def, candidate), (value) =>
        this.store.create(def, candidate, value, claims.changes(candidate).take),
      );
      if (res.ok) return candidate;
      if (!res.takenClaims?.length) throw alreadyExists(def, meta.name);
      claims.lost(candidate, res.takenClaims, true);
    }
    throw conflict(def, meta.name, "could not allocate its addresses; please try again");
  }

  /**
   * A create that writes nothing (dryRun=All): an existing name is still AlreadyExists, and what an
   * allocator would pick (a clusterIP, nodePorts) is picked from what is free now, as kube-apiserver's
   * dry-run allocators do, without being taken.
   */
  private async dryRunCreate(def: KindDefinition, obj: KubeObject, alloc: Allocator | undefined): Promise<KubeObject> {
    const meta = obj.metadata!;
    if (await this.store.get(def, meta.namespace, meta.name)) throw alreadyExists(def, meta.name);
    if (alloc) new ClaimAttempts(def, alloc).assign(obj);
    this.encodeChecked(def, obj);
    return obj;
  }

  private async checkNamespace(def: KindDefinition, namespace: string, name: string): Promise<void> {
    const nsDef = kindForResource("namespaces")!;
    const ns = this.cache.get("namespaces", storageKey(nsDef, "", namespace))?.obj ?? (await this.store.get(nsDef, "", namespace))?.obj;
    if (!ns) throw namespaceNotFound(namespace);
    if (ns.metadata?.deletionTimestamp) {
      throw forbidden(def, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  /**
   * Writes obj as `value` with the store operation `op`. The write is announced to the watch cache
   * while etcd has it (see WatchCache.expectWrite), and once it succeeded the object, now at its
   * resourceVersion, is handed to the cache as written (see WatchCache.written): its watch event
   * then needs no decoding, and the response shares the event's encoding.
   */
  private async write(
    def: KindDefinition,
    obj: KubeObject,
    value: Buffer,
    op: (value: Buffer) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    const key = storageKey(def, obj.metadata!.namespace, obj.metadata!.name);
    const withdraw = this.cache.expectWrite(key, value, obj);
    let res: WriteResult;
    try {
      res = await op(value);
    } finally {
      withdraw();
    }
    if (res.ok) {
      obj.metadata!.resourceVersion = String(res.rev);
      this.cache.written(def, key, obj, res.rev, value);
    }
    return res;
  }

  private encodeChecked(def: KindDefinition, obj: KubeObject): Buffer {
    const value = this.store.encode(def, obj);
    if (value.length > MAX_OBJECT_BYTES) throw tooLarge(def, obj.metadata?.name ?? "", value.length, MAX_OBJECT_BYTES);
    return value;
  }

  async get(def: KindDefinition, namespace: string, name: string): Promise<KubeObject> {
    stored(def);
    const cur = await this.store.get(def, def.namespaced ? namespace || "default" : "", name);
    if (!cur) throw notFound(def, name);
    return cur.obj;
  }

  /**
   * A consistent LIST: the first page comes from the watch cache once it has caught up with
   * etcd's current revision (a quorum read); later pages too while nothing of the list changed
   * since the first page's revision, else from etcd at that revision.
   */
  async list(def: KindDefinition, q: ListQuery): Promise<ListPage> {
    stored(def);
    const filter = objectFilter(def, q.namespace, q.labelSelector, q.fieldSelector);
    const prefix = resourcePrefix(def, q.namespace);
    const bounds = listBounds(def, q);
    const matchAll = !q.labelSelector && !q.fieldSelector;
    if (q.continue) {
      const token = decodeContinue(q.continue, prefix);
      // A token naming a revision etcd has not reached was not made by this cluster.
      if (token.rev > this.cache.revision && token.rev > (await this.store.currentRevision()))
        throw invalidContinue(`its resourceVersion ${token.rev} is in the future`);
      if (this.cache.unchangedSince(def.resource, prefix, token.rev)) {
        return this.pageFromCache(def, prefix, token.start, token.rev, bounds, filter, matchAll);
      }
      return this.listFromEtcd(def, prefix, token.rev, token.start, bounds, filter);
    }
    const rev = await this.store.currentRevision();
    if (!(await this.cache.waitForRevision(rev, this.opts.listCacheWaitMs))) {
      return this.listFromEtcd(def, prefix, rev, prefix, bounds, filter);
    }
    return this.pageFromCache(def, prefix, prefix, this.cache.revision, bounds, filter, matchAll);
  }

  /**
   * A page of the cache's objects under `prefix` from `fromKey` on, at revision `rev`. With no
   * selector, remainingItemCount says how many objects follow; with one it is left unset, as
   * Kubernetes leaves it (the count would cost a scan of the rest).
   */
  private pageFromCache(
    def: KindDefinition,
    prefix: string,
    fromKey: string,
    rev: number,
    bounds: ListBounds,
    filter: Filter,
    matchAll: boolean,
  ): ListPage {
    const { entries, start, end } = this.cache.range(def.resource, prefix, fromKey);
    const page: CacheEntry[] = [];
    let i = start;
    for (; i < end && !bounds.full(page); i++) {
      const e = entries[i]!;
      if (!filter(e.obj)) continue;
      if (!bounds.fits(page, e)) break;
      page.push(e);
    }
    let more = i < end;
    if (more && !matchAll) {
      more = false;
      for (let j = i; j < end && !more; j++) more = filter(entries[j]!.obj);
    }
    if (!more || page.length === 0) return { entries: page, resourceVersion: String(rev), continue: "" };
    return {
      entries: page,
      resourceVersion: String(rev),
      continue: encodeContinue(rev, page[page.length - 1]!.key),
      remaining: matchAll ? end - i : undefined,
    };
  }

  private async listFromEtcd(
    def: KindDefinition,
    prefix: string,
    rev: number,
    start: string,
    bounds: ListBounds,
    filter: Filter,
  ): Promise<ListPage> {
    const end = prefixEnd(prefix);
    const out: CacheEntry[] = [];
    let from = Buffer.from(start);
    let more = false;
    let lastKey = "";
    const limit = bounds.limit;
    for (;;) {
      let page: Awaited<ReturnType<ObjectStore["range"]>>;
      try {
        page = await this.store.range(from, end, rev, limit > 0 ? Math.max(limit, 100) : 0);
      } catch (e) {
        if (e instanceof RevisionCompactedError) throw gone(CONTINUE_TOO_OLD);
        if (e instanceof FutureRevisionError) throw invalidContinue(`its resourceVersion ${rev} is in the future`);
        throw e;
      }
      rev = page.revision && rev === 0 ? page.revision : rev;
      let i = 0;
      for (; i < page.kvs.length && !bounds.full(out); i++) {
        const kv = page.kvs[i];
        const key = kv.key.toString();
        const obj = this.store.decode(def, kv.value, Number(kv.mod_revision));
        if (!filter(obj)) {
          lastKey = key;
          continue;
        }
        const entry = new CacheEntry(def, key, obj, Number(kv.mod_revision), storedEncoding(kv.value));
        if (!bounds.fits(out, entry)) break;
        lastKey = key;
        out.push(entry);
      }
      if (bounds.full(out) || i < page.kvs.length) {
        more = i < page.kvs.length || page.more;
        break;
      }
      if (!page.more || page.kvs.length === 0) break;
      from = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
    return { entries: out, resourceVersion: String(rev), continue: more ? encodeContinue(rev, lastKey) : "" };
  }

  /** Update (spec and metadata) or UpdateStatus (status only), with optimistic concurrency. */
  async update(input: KubeObject, subresource: "" | "status", opts: WriteOptions = {}): Promise<KubeObject> {
    const def = stored(kindOf(input));
    const meta = input.metadata;
    if (!meta?.name)
      throw new InvalidObjectError(qualifiedKind(def), "", [forbiddenField("metadata.name", "name is required for an update")]);
    if (subresource === "status" && !def.hasStatus) throw notFoundResource(`${def.resource}/status`);
    const namespace = def.namespaced ? meta.namespace || "default" : "";
    return this.guaranteedUpdate(def, namespace, meta.name, (cur) => this.merge(def, input, cur, subresource, meta.resourceVersion), opts);
  }

  async patch(
    def: KindDefinition,
    namespace: string,
    name: string,
    patchText: string,
    subresource: "" | "status",
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    const patch = parseMergePatch(patchText);
    return this.patchJson(def, namespace, name, (cur) => applyMergePatch(cur, patch), subresource, {
      ...opts,
      pinnedResourceVersion: pinnedResourceVersion(patch),
    });
  }

  /**
   * A patch of any kind (merge, JSON patch, strategic merge patch): `apply` turns the current
   * object's Kubernetes JSON into the patched JSON, which is decoded and written as an update, in
   * a guaranteedUpdate, so a lost race is applied again to the new current object. A patch that
   * pins a resourceVersion (`pinnedRV`) conflicts with any other.
   */
  async patchJson(
    def: KindDefinition,
    namespace: string,
    name: string,
    apply: (current: Record<string, unknown>) => unknown,
    subresource: "" | "status",
    opts: WriteOptions & { pinnedResourceVersion?: string } = {},
  ): Promise<KubeObject> {
    stored(def);
    if (subresource === "status" && !def.hasStatus) throw notFoundResource(`${def.resource}/status`);
    const ns = def.namespaced ? namespace || "default" : "";
    return this.guaranteedUpdate(
      def,
      ns,
      name,
      (cur) =>
        this.merge(
          def,
          decodePatched(def, apply(objectToJson(cur.obj)), opts.droppedFields),
          cur,
          subresource,
          opts.pinnedResourceVersion ?? "",
        ),
      opts,
    );
  }

  /** The object to store when `input` updates `cur`: what the client may change, defaulted and validated. */
  private merge(def: KindDefinition, input: KubeObject, cur: Versioned, subresource: "" | "status", pinnedRV: string): KubeObject {
    if (pinnedRV && pinnedRV !== String(cur.rev)) throw conflict(def, cur.obj.metadata!.name);
    const old = cur.obj as KubeObject & { status?: unknown; spec?: unknown };
    let next: KubeObject & { status?: unknown; spec?: unknown };
    if (subresource === "status") {
      next = clone(def.schema, old) as typeof next;
      next.status = (input as typeof next).status;
    } else {
      next = clone(def.schema, input) as typeof next;
      const m = (next.metadata ??= create(ObjectMetaSchema));
      const o = old.metadata!;
      if (!m.namespace && def.namespaced) m.namespace = o.namespace;
      if (!m.uid) m.uid = o.uid;
      m.creationTimestamp = o.creationTimestamp;
      m.deletionTimestamp = o.deletionTimestamp;
      m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
      m.generation = o.generation;
      m.generateName = m.generateName || o.generateName;
      if (def.hasStatus) next.status = old.status;
    }
    next.metadata!.resourceVersion = String(cur.rev);
    if (subresource === "") def.prepareForUpdate?.(next, old);
    def.defaults?.(next);
    const errs = [...validateObjectMeta(def, next), ...validateObjectMetaUpdate(next, old), ...(def.validate?.(next) ?? [])];
    if (subresource === "") errs.push(...(def.validateUpdate?.(next, old) ?? []));
    if (old.metadata!.deletionTimestamp) {
      const added = next.metadata!.finalizers.filter((f) => !old.metadata!.finalizers.includes(f));
      if (added.length) errs.push(forbiddenField("metadata.finalizers", "no new finalizers can be added if the object is being deleted"));
    }
    throwIfInvalid(def, next, errs);
    // Only a change of spec moves generation; the status subresource cannot change spec.
    if (subresource === "" && !sameSpec(def, next, old)) next.metadata!.generation = old.metadata!.generation + 1;
    return next;
  }

  /**
   * Computes the object's successor from its current state and writes it if nobody wrote in
   * between (compare mod_revision). The first try starts from the watch cache's copy, saving a
   * read from etcd (kube-apiserver's GuaranteedUpdate does the same); a lost race retries from
   * the current object the failed transaction returned. A cached copy that may be stale never
   * decides anything alone: a conflict or a no-op computed from it is checked against etcd.
   */
  async guaranteedUpdate(
    def: KindDefinition,
    namespace: string,
    name: string,
    next: (cur: Versioned) => KubeObject,
    opts: { dryRun?: boolean } = {},
  ): Promise<KubeObject> {
    let cur: Versioned | undefined = this.cache.get(def.resource, storageKey(def, namespace, name));
    let fromCache = cur !== undefined;
    const alloc = this.opts.allocators?.[def.kind];
    const claims = alloc && new ClaimAttempts(def, alloc);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      if (!cur) {
        cur = await this.store.get(def, namespace, name);
        fromCache = false;
        if (!cur) throw notFound(def, name);
      }
      let obj: KubeObject;
      try {
        obj = next(cur);
      } catch (e) {
        if (!fromCache) throw e;
        cur = undefined;
        continue;
      }
      claims?.assign(obj, cur.obj);
      if (opts.dryRun) {
        // Decided from etcd's copy, as a real update would be; nothing is written or taken.
        if (fromCache) {
          cur = undefined;
          continue;
        }
        this.encodeChecked(def, obj);
        return obj;
      }
      if (equals(def.schema, obj, cur.obj)) {
        if (!fromCache) return cur.obj;
        cur = undefined;
        continue;
      }
      const meta = obj.metadata!;
      if (meta.deletionTimestamp && !hasFinalizers(def, obj) && !(def.deletionGracePeriod && isGraceRunning(meta.deletionTimestamp))) {
        // The last finalizer is gone: the deletion completes.
        const res = await this.store.delete(def, namespace, name, cur.rev, alloc?.claims(cur.obj));
        if (res.ok) {
          meta.resourceVersion = String(res.rev);
          return obj;
        }
        cur = undefined;
        continue;
      }
      const rev = cur.rev;
      const changes = claims?.changes(obj, cur.obj) ?? { take: [], release: [] };
      const res = await this.write(def, obj, this.encodeChecked(def, obj), (value) => this.store.update(def, obj, value, rev, changes));
      if (res.ok) return obj;
      if (res.takenClaims?.length) claims?.lost(obj, res.takenClaims, !fromCache);
      if (!res.current) throw notFound(def, name);
      cur = res.current;
      fromCache = false;
    }
    throw conflict(def, name, "too many concurrent writers; please try again");
  }

  async delete(
    def: KindDefinition,
    namespace: string,
    name: string,
    opts: { gracePeriodSeconds?: number; uid?: string; resourceVersion?: string; propagationPolicy?: string; dryRun?: boolean },
  ): Promise<{ obj: KubeObject; removed: boolean }> {
    stored(def);
    if (opts.propagationPolicy && !["Orphan", "Background", "Foreground"].includes(opts.propagationPolicy)) {
      throw badRequest(
        `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Orphan", "Background", "Foreground"`,
      );
    }
    const ns = def.namespaced ? namespace || "default" : "";
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const cur = await this.store.get(def, ns, name);
      if (!cur) throw notFound(def, name);
      const m = cur.obj.metadata!;
      if (opts.uid && opts.uid !== m.uid) {
        throw conflict(def, name, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${m.uid}`);
      }
      if (opts.resourceVersion && opts.resourceVersion !== String(cur.rev)) {
        throw conflict(
          def,
          name,
          `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in object meta: ${cur.rev}`,
        );
      }
      const grace = def.deletionGracePeriod?.(cur.obj, opts.gracePeriodSeconds) ?? 0;
      // Foreground and Orphan are the garbage collector's finalizers, added with the deletion.
      const policyFinalizer = { Foreground: "foregroundDeletion", Orphan: "orphan" }[opts.propagationPolicy ?? ""] as string | undefined;
      const finalizersLeft = hasFinalizers(def, cur.obj) || (!m.deletionTimestamp && policyFinalizer !== undefined);
      if (opts.dryRun) return dryRunDeletion(def, cur.obj, grace, finalizersLeft, policyFinalizer);
      if (m.deletionTimestamp) {
        // Already being deleted: a shorter grace period moves the deletion closer (the kubelet's
        // grace 0, once the pod stopped, ends it); anything else leaves it as it is.
        const shorter = m.deletionGracePeriodSeconds !== undefined && grace < m.deletionGracePeriodSeconds;
        if (!shorter) return { obj: cur.obj, removed: false };
        if (finalizersLeft) {
          const marked = await this.markDeleting(def, cur, grace);
          if (marked) return { obj: marked, removed: false };
          continue;
        }
      } else if (finalizersLeft || grace > 0) {
        const marked = await this.markDeleting(def, cur, grace, (n) => {
          if (policyFinalizer && !n.metadata!.finalizers.includes(policyFinalizer)) n.metadata!.finalizers.push(policyFinalizer);
          def.onDeletionStart?.(n);
        });
        if (marked) return { obj: marked, removed: false };
        continue;
      }
      const res = await this.store.delete(def, ns, name, cur.rev, this.opts.allocators?.[def.kind]?.claims(cur.obj));
      if (!res.ok) continue;
      // A copy: cur.obj may be the watch cache's entry, which is never changed in place.
      const gone = clone(def.schema, cur.obj) as KubeObject;
      gone.metadata!.resourceVersion = String(res.rev);
      return { obj: gone, removed: true };
    }
    throw conflict(def, name, "too many concurrent writers; please try again");
  }

  /**
   * Writes `cur` with its deletion set for `grace` seconds from now (and whatever `also` adds);
   * undefined when another writer got in first, for the caller to read it again.
   */
  private async markDeleting(
    def: KindDefinition,
    cur: Versioned,
    grace: number,
    also?: (n: KubeObject) => void,
  ): Promise<KubeObject | undefined> {
    const n = clone(def.schema, cur.obj) as KubeObject;
    n.metadata!.deletionTimestamp = nowTimestamp(grace);
    n.metadata!.deletionGracePeriodSeconds = grace;
    also?.(n);
    const res = await this.write(def, n, this.store.encode(def, n), (value) => this.store.update(def, n, value, cur.rev));
    return res.ok ? n : undefined;
  }
}

/** What a deletion would do (dryRun=All): the object marked for deletion, or gone; nothing written. */
function dryRunDeletion(
  def: KindDefinition,
  cur: KubeObject,
  grace: number,
  finalizersLeft: boolean,
  policyFinalizer: string | undefined,
): { obj: KubeObject; removed: boolean } {
  const n = clone(def.schema, cur) as KubeObject;
  const m = n.metadata!;
  if (!finalizersLeft && grace === 0) return { obj: n, removed: true };
  if (!m.deletionTimestamp) {
    m.deletionTimestamp = nowTimestamp(grace);
    m.deletionGracePeriodSeconds = grace;
    if (policyFinalizer && !m.finalizers.includes(policyFinalizer)) m.finalizers.push(policyFinalizer);
    def.onDeletionStart?.(n);
  }
  return { obj: n, removed: false };
}

/** Aggregated kinds (metrics) are read-only here: their server holds them, etcd never does. */
function stored(def: KindDefinition): KindDefinition {
  if (def.aggregated) throw methodNotAllowed();
  return def;
}

function hasFinalizers(def: KindDefinition, obj: KubeObject): boolean {
  return obj.metadata!.finalizers.length > 0 || (def.specFinalizers?.(obj).length ?? 0) > 0;
}

function isGraceRunning(deletionTimestamp: string): boolean {
  return Date.parse(deletionTimestamp) > Date.now();
}
