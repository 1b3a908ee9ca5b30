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
import { gone, tooOldResourceVersion } from "../apiErrors.js";

/** One object as the cache holds it: decoded once, binary-encoded at most once. */
export class CacheEntry {
  private encoded: Uint8Array | undefined;
  constructor(
    readonly def: KindDefinition,
    readonly key: string,
    readonly obj: KubeObject,
    readonly rev: number,
    /** The object's stored encoding (no resourceVersion), when at hand: bytes() then needs no encoding. */
    private stored?: Uint8Array,
  ) {}

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
  send(bytes: Uint8Array): void;
  /** Ends the watcher with an error (the stream closes; the client re-watches or relists). */
  fail(err: Error): void;
}

export interface WatchCacheOptions {
  /** Events kept for watchers resuming from an older resourceVersion. */
  historySize: number;
  bookmarkIntervalMs: number;
}

/**
 * The API server's watch cache: one etcd watch on /registry/ feeds a decoded copy of every
 * object and a window of recent events, from which LIST is served and every API watcher is fed.
 * So a hundred watchers cost one etcd watch, and an event is decoded and encoded once.
 */
export class WatchCache {
  private readonly objects = new Map<string, Map<string, CacheEntry>>();
  private history: CacheEvent[] = [];
  private historyStart = 0;
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
  /** The newest revision this server compacted etcd to; older versions answer OUT_OF_RANGE. */
  compactedRevision = 0;
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
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.bookmarkTimer);
    void this.etcdWatcher?.cancel();
    for (const set of this.watchers.values()) for (const w of set) w.fail(new Error("API server shutting down"));
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
    if (!write || !write.value.equals(value)) return undefined;
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
      rev = page.revision;
      for (const kv of page.kvs) {
        const entry = this.decodeKV(kv.key.toString(), kv.value, Number(kv.mod_revision));
        if (entry) this.mapFor(objects, entry.def.resource).set(entry.key, entry);
      }
      if (!page.more || page.kvs.length === 0) break;
      start = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
    this.objects.clear();
    this.ownWrites.clear();
    for (const [r, m] of objects) this.objects.set(r, m);
    this.history = [];
    this.historyStart = rev;
    this.setRevision(rev);
    this.ready = true;
    this.log.info("watch cache loaded", { revision: rev, objects: [...objects.values()].reduce((n, m) => n + m.size, 0) });

    const watcher = await this.etcd.watch().prefix(REGISTRY_PREFIX).startRevision(String(rev + 1)).create();
    this.etcdWatcher = watcher;
    watcher.on("data", (res) => {
      let last = 0;
      for (const ev of res.events) {
        last = Number(ev.kv.mod_revision);
        this.apply(ev.kv.key.toString(), ev.type === "Delete" ? undefined : ev.kv.value, last);
      }
      // A progress notification (no events) says every change up to header.revision was sent.
      this.setRevision(res.events.length ? last : Number(res.header.revision));
    });
    watcher.on("disconnected", (err: Error) => this.log.warn("etcd watch disconnected; reconnecting", { error: err.message }));
    watcher.on("connected", () => this.log.info("etcd watch connected"));
    watcher.on("error", (err: Error) => {
      // The etcd watch was cancelled (e.g. its revision compacted while disconnected): start over.
      this.log.warn("etcd watch failed; reloading the cache", { error: err.message });
      this.ready = false;
      void watcher.cancel();
      for (const set of this.watchers.values()) for (const w of set) w.fail(gone("watch cache reloaded; please relist"));
      if (!this.stopped) void this.reload();
    });
  }

  private async reload(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.load();
        return;
      } catch (e) {
        this.log.warn("watch cache reload failed", { error: (e as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
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
    let event: CacheEvent;
    if (value === undefined) {
      if (!prev) return;
      map.delete(key);
      const obj = structuredCloneObject(def, prev.obj);
      obj.metadata!.resourceVersion = String(rev);
      event = { resource, rev, entry: new CacheEntry(def, key, obj, rev), prev, deleted: true };
    } else {
      const own = this.ownWrites.get(key);
      if (own && own.rev <= rev) this.ownWrites.delete(key);
      const entry = own?.rev === rev ? own : (this.announcedEntry(def, key, value, rev) ?? this.decodeKV(key, value, rev));
      if (!entry) return;
      map.set(key, entry);
      event = { resource, rev, entry, prev, deleted: false };
    }
    this.history.push(event);
    if (this.history.length > this.opts.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.opts.historySize);
      this.historyStart = dropped[dropped.length - 1].rev;
    }
    for (const w of this.watchers.get(resource) ?? []) this.deliver(w, event);
  }

  private setRevision(rev: number): void {
    if (rev <= this.revision) return;
    this.revision = rev;
    if (this.revisionWaiters.length) {
      const still = [];
      for (const w of this.revisionWaiters) (w.rev <= rev ? w.resolve() : still.push(w));
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
    const out: CacheEntry[] = [];
    for (const e of this.objects.get(resource)?.values() ?? []) if (e.key.startsWith(keyPrefix)) out.push(e);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
    if (fromRev === undefined) {
      for (const e of this.list(w.resource, keyPrefix)) {
        if (w.filter(e.obj)) w.send(encodeEvent("ADDED", e));
      }
      w.lastRev = this.revision;
    } else {
      if (fromRev < this.compactedRevision) throw tooOldResourceVersion(fromRev, this.compactedRevision);
      if (fromRev < this.historyStart) throw tooOldResourceVersion(fromRev, this.historyStart);
      w.lastRev = fromRev;
      for (const ev of this.history) {
        if (ev.rev > fromRev && ev.resource === w.resource) this.deliver(w, ev);
      }
    }
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
    const now = ev.deleted ? false : w.filter(ev.entry.obj);
    const before = ev.prev ? w.filter(ev.prev.obj) : false;
    let type: string | undefined;
    if (ev.deleted) type = before ? "DELETED" : undefined;
    else if (now && before) type = "MODIFIED";
    else if (now) type = "ADDED";
    else if (before) type = "DELETED"; // no longer matches the selector
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
