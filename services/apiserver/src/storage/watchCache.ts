import { ExponentialBackoff, retryWithBackoff } from "@kubelab/client";
import type { Etcd3, Watcher } from "etcd3";
import { clone, create } from "@bufbuild/protobuf";
import {
  BookmarkSchema,
  WatchEventSchema,
  kindForResource,
  packEncoded,
  encodeObject,
  encodeMessage,
  type KindDefinition,
  type KubeObject,
} from "@kubelab/api";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { Logger } from "@kubelab/service-kit";
import { encodingAtRevision, ownedCopy, storedEncoding, type ObjectStore } from "./objectStore.js";
import { REGISTRY_PREFIX, prefixEnd, resourceOfKey } from "./keys.js";
import { gone, shuttingDown, tooOldResourceVersion } from "../apiErrors.js";

/** One object as the cache holds it: decoded once, binary-encoded at most once. */
export class CacheEntry {
  private encoded: Uint8Array | undefined;
  /** The size of the object's encoding, for the cache's accounting (known without encoding it). */
  readonly sizeBytes: number;
  constructor(
    readonly def: KindDefinition,
    readonly key: string,
    readonly obj: KubeObject,
    readonly rev: number,
    /** The object's stored encoding (no resourceVersion), when at hand: bytes() then needs no encoding. */
    private stored?: Uint8Array,
    sizeBytes?: number,
  ) {
    this.sizeBytes = sizeBytes ?? stored?.byteLength ?? this.bytes().byteLength;
  }

  bytes(): Uint8Array {
    if (!this.encoded) {
      this.encoded = this.stored ? encodingAtRevision(this.def, this.stored, this.rev) : encodeObject(this.obj);
      this.stored = undefined;
    }
    return this.encoded;
  }
}

export interface CacheEvent {
  resource: string;
  rev: number;
  /** When the cache applied it (ms since the epoch), for the freshness window. */
  appliedAtMs: number;
  /** What the event holds (its object and the one before), for the cache's byte bound. */
  sizeBytes: number;
  /** The object after the change; for a delete, the object as it was, at the delete's revision. */
  entry: CacheEntry;
  prev: CacheEntry | undefined;
  deleted: boolean;
  /** Encoded WatchEvent messages by event type, shared by every watcher. */
  encoded?: Map<string, Uint8Array>;
}

/** Own writes waiting for their watch event, at most; beyond it the wait is given up. */
const MAX_OWN_WRITES = 10_000;

export type Filter = (obj: KubeObject) => boolean;

export interface CacheWatcher {
  resource: string;
  filter: Filter;
  bookmarks: boolean;
  lastRev: number;
  /**
   * What the watcher must get before any live event, encoded only as its stream takes it: ADDED
   * for every matching object of a new watch, or the events after a resumed watch's version.
   */
  sendInitial(events: Array<() => Uint8Array>): void;
  /** One live event. */
  send(bytes: Uint8Array): void;
  /** Ends the watcher with an error (the stream closes; the client re-watches or relists). */
  fail(err: Error): void;
}

export interface WatchCacheOptions {
  /** Events kept for watchers resuming from an older resourceVersion, at most. */
  historySize: number;
  /** Bytes those events hold (objects and their previous versions), at most. */
  historyMaxBytes: number;
  /**
   * Events older than this are dropped even under the other bounds, as Kubernetes sizes its
   * watch cache by a freshness window (75 s); a watcher resuming from before the window relists.
   */
  historyWindowMs: number;
  bookmarkIntervalMs: number;
}

/**
 * The API server's watch cache: one etcd watch on /registry/ feeds a decoded copy of every
 * object and a window of recent events, from which LIST is served and every API watcher is fed.
 * So a hundred watchers cost one etcd watch, and an event is decoded and encoded once.
 */
export class WatchCache {
  private readonly objects = new Map<string, Map<string, CacheEntry>>();
  /** Each resource's objects sorted by key, until the resource changes (see range()). */
  private readonly sorted = new Map<string, CacheEntry[]>();
  private history: CacheEvent[] = [];
  private historyHead = 0;
  private historyBytes = 0;
  private historyStart = 0;
  private historyTimer: NodeJS.Timeout | undefined;
  private readonly watchers = new Map<string, Set<CacheWatcher>>();
  /** Objects this server wrote, by key, until their own watch event arrives (see written()). */
  private readonly ownWrites = new Map<string, CacheEntry>();
  private readonly ownWriteEntries = new WeakMap<KubeObject, CacheEntry>();
  /** Writes this server has sent and etcd has not answered yet, by key (see expectWrite()). */
  private readonly inFlight = new Map<string, { value: Buffer; obj: KubeObject }>();
  private etcdWatcher: Watcher | undefined;
  private revisionWaiters: Array<{ rev: number; resolve: () => void }> = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The etcd revision the cache reflects. */
  revision = 0;
  private compacted = 0;
  ready = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly opts: WatchCacheOptions,
  ) {}

  async start(): Promise<void> {
    await this.load();
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), this.opts.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
    // Old events go even when nothing is written: an idle server gives their memory back.
    this.historyTimer = setInterval(() => this.trimHistory(), Math.max(100, Math.min(5000, this.opts.historyWindowMs / 4)));
    this.historyTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.bookmarkTimer);
    clearInterval(this.historyTimer);
    void this.etcdWatcher?.cancel();
    for (const set of this.watchers.values()) for (const w of set) w.fail(shuttingDown());
  }

  /** The newest revision etcd was compacted to, as far as this server knows; older versions answer OUT_OF_RANGE. */
  get compactedRevision(): number {
    return this.compacted;
  }

  /** etcd was compacted to `revision` (by this server's compactor, or found so): watches from before it relist. */
  noteCompaction(revision: number): void {
    this.compacted = Math.max(this.compacted, revision);
  }

  /** The events kept for resuming watchers: how many, and the bytes they hold. */
  get historyStats(): { events: number; bytes: number; oldestRevision: number } {
    return { events: this.history.length - this.historyHead, bytes: this.historyBytes, oldestRevision: this.historyStart };
  }

  /**
   * Takes an object this server has just written at `rev`, as it wrote it (`value`: the stored
   * bytes). When the write's own watch event arrives after etcd's answer, this object becomes the
   * cache's entry instead of a decoding of the value (expectWrite() covers an event that comes
   * first), and the entry's wire encoding is the one the write's response is sent with. The
   * object must not be changed afterwards (cache entries never are).
   */
  written(def: KindDefinition, key: string, obj: KubeObject, rev: number, value: Buffer): void {
    if (rev <= this.revision) {
      // Its event came first: the response shares that entry's encoding.
      const cached = this.objects.get(def.resource)?.get(key);
      if (cached?.rev === rev) this.ownWriteEntries.set(obj, cached);
      return;
    }
    // Events that never come (a watch restarted past them) must not pile up.
    if (this.ownWrites.size >= MAX_OWN_WRITES) this.ownWrites.clear();
    const entry = new CacheEntry(def, key, obj, rev, storedEncoding(value));
    this.ownWrites.set(key, entry);
    this.ownWriteEntries.set(obj, entry);
  }

  /**
   * Announces a write about to be sent: its key, the stored value, and the object it encodes. The
   * write's watch event often comes before the transaction's answer (watch and transaction may
   * go to different members); an event carrying exactly these bytes takes this object as its
   * entry instead of a decoding of them. Returns the withdrawal, for when etcd has answered.
   */
  expectWrite(key: string, value: Buffer, obj: KubeObject): () => void {
    const write = { value, obj };
    this.inFlight.set(key, write);
    return () => {
      if (this.inFlight.get(key) === write) this.inFlight.delete(key);
    };
  }

  /** The entry of an announced write whose bytes this event carries, if any. */
  private announcedEntry(def: KindDefinition, key: string, value: Buffer, rev: number): CacheEntry | undefined {
    const write = this.inFlight.get(key);
    if (!write?.value.equals(value)) return undefined;
    this.inFlight.delete(key);
    // Same bytes, same object: only its resourceVersion was not stored.
    write.obj.metadata!.resourceVersion = String(rev);
    const entry = new CacheEntry(def, key, write.obj, rev, storedEncoding(write.value));
    this.ownWriteEntries.set(write.obj, entry);
    return entry;
  }

  /** The binary encoding of an object this server wrote, shared with its cache entry. */
  encodingOf(obj: KubeObject): Uint8Array | undefined {
    return this.ownWriteEntries.get(obj)?.bytes();
  }

  /** Lists everything under /registry/ at one revision, then watches from the next one. */
  private async load(): Promise<void> {
    const end = prefixEnd(REGISTRY_PREFIX);
    let start = Buffer.from(REGISTRY_PREFIX);
    let rev = 0;
    const objects = new Map<string, Map<string, CacheEntry>>();
    for (;;) {
      const page = await this.store.range(start, end, rev, 5000);
      // The first page fixes the revision; every header names etcd's current one, later pages too.
      if (!rev) rev = page.revision;
      for (const kv of page.kvs) {
        const entry = this.decodeKV(kv.key.toString(), kv.value, Number(kv.mod_revision));
        if (entry) this.mapFor(objects, entry.def.resource).set(entry.key, entry);
      }
      if (!page.more || page.kvs.length === 0) break;
      start = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
    this.objects.clear();
    this.sorted.clear();
    this.ownWrites.clear();
    for (const [r, m] of objects) this.objects.set(r, m);
    this.history = [];
    this.historyHead = 0;
    this.historyBytes = 0;
    this.historyStart = rev;
    this.setRevision(rev);
    this.ready = true;
    this.log.info("watch cache loaded", { revision: rev, objects: [...objects.values()].reduce((n, m) => n + m.size, 0) });

    // The listeners go on before the watch is sent: etcd3's create() resolves on the "created"
    // answer, and the catch-up events that arrive in the same read would reach no listener.
    const watcher = this.etcd
      .watch()
      .prefix(REGISTRY_PREFIX)
      .startRevision(String(rev + 1))
      .watcher();
    this.etcdWatcher = watcher;
    // etcd3 resumes a broken watch after the last header's revision, which may be past events
    // not yet sent (the "created" answer carries etcd's current revision, a catch-up batch too):
    // resume after the last change applied instead. Its handlers run first, so this one wins.
    const resumeAfterApplied = () => {
      watcher.request.start_revision = String(this.revision + 1);
    };
    watcher.on("data", (res) => {
      let last = 0;
      for (const ev of res.events) {
        last = Number(ev.kv.mod_revision);
        this.apply(ev.kv.key.toString(), ev.type === "Delete" ? undefined : ev.kv.value, last);
      }
      // A progress notification (no events) says every change up to header.revision was sent.
      this.setRevision(res.events.length ? last : Number(res.header.revision));
      resumeAfterApplied();
    });
    watcher.on("disconnected", (err: Error) => this.log.warn("etcd watch disconnected; reconnecting", { error: err.message }));
    watcher.on("connected", () => {
      resumeAfterApplied();
      this.log.info("etcd watch connected");
    });
    let established = false;
    const firstAnswer = new Promise<void>((resolve, reject) => {
      watcher.once("connected", () => {
        established = true;
        resolve();
      });
      watcher.on("error", (err: Error) => {
        if (!established) {
          // Not created at all: load() fails, and whoever called it retries.
          void watcher.cancel();
          reject(err);
          return;
        }
        // The etcd watch was cancelled (e.g. its revision compacted while disconnected): start over.
        this.log.warn("etcd watch failed; reloading the cache", { error: err.message });
        this.ready = false;
        void watcher.cancel();
        for (const set of this.watchers.values()) for (const w of set) w.fail(gone("watch cache reloaded; please relist"));
        if (!this.stopped) void this.reload();
      });
    });
    await firstAnswer;
  }

  private async reload(): Promise<void> {
    await retryWithBackoff(() => (this.stopped ? Promise.resolve() : this.load()), {
      backoff: new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 5000 }),
      onRetry: (e) => this.log.warn("watch cache reload failed", { error: (e as Error).message }),
    });
  }

  private mapFor(objects: Map<string, Map<string, CacheEntry>>, resource: string) {
    let m = objects.get(resource);
    if (!m) objects.set(resource, (m = new Map()));
    return m;
  }

  private decodeKV(key: string, value: Buffer | Uint8Array, rev: number): CacheEntry | undefined {
    const def = kindForResource(resourceOfKey(key));
    if (!def) return undefined;
    try {
      const owned = ownedCopy(value);
      return new CacheEntry(def, key, this.store.decode(def, owned, rev), rev, storedEncoding(owned));
    } catch (e) {
      this.log.error("undecodable object in etcd; skipped", { key, error: (e as Error).message });
      return undefined;
    }
  }

  private apply(key: string, value: Buffer | undefined, rev: number): void {
    const resource = resourceOfKey(key);
    const def = kindForResource(resource);
    if (!def) return;
    const map = this.mapFor(this.objects, resource);
    const prev = map.get(key);
    this.sorted.delete(resource);
    let event: CacheEvent;
    if (value === undefined) {
      if (!prev) return;
      map.delete(key);
      const obj = structuredCloneObject(def, prev.obj);
      obj.metadata!.resourceVersion = String(rev);
      const entry = new CacheEntry(def, key, obj, rev, undefined, prev.sizeBytes);
      event = { resource, rev, appliedAtMs: Date.now(), sizeBytes: entry.sizeBytes, entry, prev, deleted: true };
    } else {
      const own = this.ownWrites.get(key);
      if (own && own.rev <= rev) this.ownWrites.delete(key);
      const entry = own?.rev === rev ? own : (this.announcedEntry(def, key, value, rev) ?? this.decodeKV(key, value, rev));
      if (!entry) return;
      map.set(key, entry);
      event = { resource, rev, appliedAtMs: Date.now(), sizeBytes: entry.sizeBytes + (prev?.sizeBytes ?? 0), entry, prev, deleted: false };
    }
    this.history.push(event);
    this.historyBytes += event.sizeBytes;
    this.trimHistory();
    for (const w of this.watchers.get(resource) ?? []) this.deliver(w, event);
    // The encodings were for the watchers of this moment; a watcher resuming later encodes again,
    // so the window holds each event's objects and not also their wire form.
    event.encoded = undefined;
  }

  /**
   * Drops the oldest events while the window holds more than its count or bytes, or events older
   * than its freshness window. A watcher may resume from the revision of the last event dropped.
   */
  private trimHistory(): void {
    const tooOld = Date.now() - this.opts.historyWindowMs;
    let head = this.historyHead;
    let bytes = this.historyBytes;
    while (head < this.history.length) {
      const oldest = this.history[head]!;
      const count = this.history.length - head;
      if (count <= this.opts.historySize && bytes <= this.opts.historyMaxBytes && oldest.appliedAtMs >= tooOld) break;
      bytes -= oldest.sizeBytes;
      this.historyStart = oldest.rev;
      head++;
    }
    if (head === this.historyHead) return;
    this.historyBytes = bytes;
    // Slots of dropped events are released in one splice once they are a good part of the array.
    if (head === this.history.length) {
      this.history = [];
      this.historyHead = 0;
    } else if (head > 1024 && head * 2 > this.history.length) {
      this.history = this.history.slice(head);
      this.historyHead = 0;
    } else {
      for (let i = this.historyHead; i < head; i++) this.history[i] = DROPPED;
      this.historyHead = head;
    }
  }

  private setRevision(rev: number): void {
    if (rev <= this.revision) return;
    this.revision = rev;
    if (this.revisionWaiters.length) {
      const still = [];
      for (const w of this.revisionWaiters) w.rev <= rev ? w.resolve() : still.push(w);
      this.revisionWaiters = still;
    }
  }

  /** Resolves true once the cache reflects `rev`, false after timeoutMs. */
  waitForRevision(rev: number, timeoutMs: number): Promise<boolean> {
    if (this.ready && this.revision >= rev) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.revisionWaiters = this.revisionWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        rev,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      this.revisionWaiters.push(waiter);
    });
  }

  /** Current objects of a resource, sorted by key (as etcd would list them). */
  list(resource: string, keyPrefix: string): CacheEntry[] {
    const r = this.range(resource, keyPrefix, keyPrefix);
    return r.entries.slice(r.start, r.end);
  }

  /**
   * The objects of a resource under `keyPrefix` from `fromKey` on, in key order: indexes into a
   * sorted array that stays as it is until the resource next changes. The array is sorted once per
   * change, not once per LIST, so the pages of a list cost their own size, not the resource's.
   */
  range(resource: string, keyPrefix: string, fromKey: string): { entries: readonly CacheEntry[]; start: number; end: number } {
    let sorted = this.sorted.get(resource);
    if (!sorted) {
      sorted = [...(this.objects.get(resource)?.values() ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.sorted.set(resource, sorted);
    }
    const start = lowerBound(sorted, fromKey > keyPrefix ? fromKey : keyPrefix);
    // Keys under a prefix are contiguous in key order: the range ends at the first that is not.
    return { entries: sorted, start, end: lowerBound(sorted, prefixEnd(keyPrefix).toString(), start) };
  }

  /**
   * Whether no object under `keyPrefix` changed after revision `rev` as far as the cache knows
   * (it has reached `rev` and keeps every event since): its objects there are then exactly what
   * etcd held at `rev`, and a LIST continued at `rev` may be served from them.
   */
  unchangedSince(resource: string, keyPrefix: string, rev: number): boolean {
    if (!this.ready || rev > this.revision || rev < this.historyStart) return false;
    for (let i = this.history.length - 1; i >= this.historyHead; i--) {
      const ev = this.history[i]!;
      if (ev.rev <= rev) break;
      if (ev.resource === resource && ev.entry.key.startsWith(keyPrefix)) return false;
    }
    return true;
  }

  get(resource: string, key: string): CacheEntry | undefined {
    return this.objects.get(resource)?.get(key);
  }

  count(): number {
    let n = 0;
    for (const m of this.objects.values()) n += m.size;
    return n;
  }

  /**
   * Registers a watcher. With no resourceVersion it first gets ADDED for every matching object;
   * with one, every change after it (replayed from the event window), or OUT_OF_RANGE when that
   * version is compacted or older than the window.
   */
  addWatcher(w: CacheWatcher, fromRev: number | undefined, keyPrefix: string): () => void {
    const catchUp: Array<() => Uint8Array> = [];
    if (fromRev === undefined) {
      for (const e of this.list(w.resource, keyPrefix)) {
        if (w.filter(e.obj)) catchUp.push(() => encodeEvent("ADDED", e));
      }
      w.lastRev = this.revision;
    } else {
      if (fromRev < this.compacted) throw tooOldResourceVersion(fromRev, this.compacted);
      if (fromRev < this.historyStart) throw tooOldResourceVersion(fromRev, this.historyStart);
      w.lastRev = fromRev;
      for (let i = this.historyHead; i < this.history.length; i++) {
        const ev = this.history[i]!;
        if (ev.rev <= w.lastRev || ev.resource !== w.resource) continue;
        const type = eventTypeFor(w, ev);
        w.lastRev = ev.rev;
        if (type) catchUp.push(() => encodeEvent(type, ev.entry));
      }
    }
    w.sendInitial(catchUp);
    let set = this.watchers.get(w.resource);
    if (!set) this.watchers.set(w.resource, (set = new Set()));
    set.add(w);
    return () => set!.delete(w);
  }

  get watcherCount(): number {
    let n = 0;
    for (const s of this.watchers.values()) n += s.size;
    return n;
  }

  private deliver(w: CacheWatcher, ev: CacheEvent): void {
    if (ev.rev <= w.lastRev) return;
    const type = eventTypeFor(w, ev);
    w.lastRev = ev.rev;
    if (!type) return;
    ev.encoded ??= new Map();
    let bytes = ev.encoded.get(type);
    if (!bytes) ev.encoded.set(type, (bytes = encodeEvent(type, ev.entry)));
    w.send(bytes);
  }

  private sendBookmarks(): void {
    for (const set of this.watchers.values()) {
      for (const w of set) {
        // Sent even when nothing changed, so an idle watcher's resourceVersion keeps up with
        // compaction and it can resume without a relist.
        if (!w.bookmarks || w.lastRev > this.revision) continue;
        w.lastRev = this.revision;
        w.send(encodeBookmark(w.resource, this.revision));
      }
    }
  }
}

/** The first index of `sorted` (from `from` on) whose key is not below `key`. */
function lowerBound(sorted: readonly CacheEntry[], key: string, from = 0): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The event a watcher sees for a change, by its selector before and after: none, ADDED, MODIFIED or DELETED. */
export function eventTypeFor(w: Pick<CacheWatcher, "filter">, ev: Pick<CacheEvent, "deleted" | "entry" | "prev">): string | undefined {
  const now = ev.deleted ? false : w.filter(ev.entry.obj);
  const before = ev.prev ? w.filter(ev.prev.obj) : false;
  if (ev.deleted) return before ? "DELETED" : undefined;
  if (now && before) return "MODIFIED";
  if (now) return "ADDED";
  if (before) return "DELETED"; // no longer matches the selector
  return undefined;
}

const DROPPED = undefined as unknown as CacheEvent;

function structuredCloneObject(def: KindDefinition, obj: KubeObject): KubeObject {
  return clone(def.schema, obj) as KubeObject;
}

function encodeEvent(type: string, entry: CacheEntry): Uint8Array {
  return encodeMessage(WatchEventSchema, create(WatchEventSchema, { type, object: packEncoded(entry.def, entry.bytes()) }));
}

function encodeBookmark(resource: string, rev: number): Uint8Array {
  const def = kindForResource(resource)!;
  const bookmark = create(BookmarkSchema, { apiVersion: def.apiVersion, kind: def.kind, metadata: { resourceVersion: String(rev) } });
  return encodeMessage(WatchEventSchema, create(WatchEventSchema, { type: "BOOKMARK", object: anyPack(BookmarkSchema, bookmark) }));
}
