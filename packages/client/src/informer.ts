import type { KubeObject } from "@kubelab/api";
import type { ApiClient, KindRef, WatchOptions } from "./apiClient.js";
import { isGone } from "@kubelab/api";
import { ExponentialBackoff, sleep } from "./backoff.js";

/** client-go's MetaNamespaceKeyFunc: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const m = obj.metadata;
  return m?.namespace ? `${m.namespace}/${m.name}` : (m?.name ?? "");
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export type IndexFunc<T> = (obj: T) => string[];

/** The informer's local cache, with secondary indexes (e.g. pods by spec.nodeName). */
export class Indexer<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  hasIndex(name: string): boolean {
    return this.indexFuncs.has(name);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.indexFuncs.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indices.set(name, index);
    for (const [key, obj] of this.items) this.indexInto(index, fn, key, obj);
  }

  private indexInto(index: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T) {
    for (const v of fn(obj)) {
      let set = index.get(v);
      if (!set) index.set(v, (set = new Set()));
      set.add(key);
    }
  }

  private unindex(key: string, obj: T) {
    for (const [name, fn] of this.indexFuncs) {
      const index = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = index.get(v);
        set?.delete(key);
        if (set?.size === 0) index.delete(v);
      }
    }
  }

  set(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexFuncs) this.indexInto(this.indices.get(name)!, fn, key, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old) {
      this.unindex(key, old);
      this.items.delete(key);
    }
    return old;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    return [...(index.get(value) ?? [])].map((k) => this.items.get(k)!);
  }

  get size(): number {
    return this.items.size;
  }
}

export interface InformerOptions extends Omit<WatchOptions, "resourceVersion" | "allowWatchBookmarks"> {
  /** Page size of the initial list. */
  pageSize?: number;
  /** Longest wait between reconnection attempts while the API server is away, in ms. */
  maxBackoffMs?: number;
  /** Where a handler's exception goes (default: a process warning). */
  onHandlerError?: (e: unknown) => void;
}

/**
 * A shared informer: lists, then watches from the list's resourceVersion, keeps a local indexed
 * cache, relists when the watch answers OUT_OF_RANGE (410 Gone), and reconnects with backoff
 * when the API server goes away.
 */
export class Informer<T extends KubeObject> {
  readonly indexer = new Indexer<T>();
  private readonly handlers: EventHandler<T>[] = [];
  private resourceVersion = "";
  private stopped = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private stream: { stop(): void } | undefined;
  private running: Promise<void> | undefined;
  /** Counts relists, for tests and metrics. */
  relists = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly kind: KindRef<T>,
    private readonly opts: InformerOptions = {},
  ) {}

  addEventHandler(h: EventHandler<T>): void {
    this.handlers.push(h);
    if (this.synced) for (const obj of this.indexer.list()) this.call(h, (x) => x.onAdd?.(obj));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /** Starts list-and-watch in the background; resolves once the first list is in the cache. */
  start(): Promise<void> {
    if (!this.running) this.running = this.run();
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    this.stream?.stop();
  }

  list(): T[] {
    return this.indexer.list();
  }

  get(key: string): T | undefined {
    return this.indexer.get(key);
  }

  /**
   * List, then watch from the list's version, for as long as the informer runs: OUT_OF_RANGE
   * (410 Gone) relists at once; any other failure waits out a jittered exponential back-off
   * (from 100 ms to maxBackoffMs) before trying again, and a watch that ran well for a while
   * starts its back-off afresh.
   */
  private async run(): Promise<void> {
    const backoff = new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: this.opts.maxBackoffMs ?? 5_000, jitter: true });
    let needList = true;
    while (!this.stopped) {
      const healthySince = Date.now();
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        await this.watchOnce();
        backoff.forget("watch");
      } catch (e) {
        if (this.stopped) return;
        if (isGone(e)) {
          needList = true;
          continue; // nothing is wrong with the server: relist at once
        }
        if (Date.now() - healthySince > 10_000) backoff.forget("watch");
        await sleep(backoff.when("watch"));
      }
    }
  }

  /**
   * Calls every handler, each on its own: one that throws is reported and does not keep the
   * others (or the informer) from their events, as client-go runs each listener apart.
   */
  private notify(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.handlers) this.call(h, fn);
  }

  private call(h: EventHandler<T>, fn: (h: EventHandler<T>) => void): void {
    try {
      fn(h);
    } catch (e) {
      (this.opts.onHandlerError ?? reportHandlerError)(e);
    }
  }

  private async relist(): Promise<void> {
    const res = await this.client.listAll(this.kind, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      limit: this.opts.pageSize ?? 500,
    });
    this.relists++;
    const seen = new Set<string>();
    for (const obj of res.items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.indexer.set(key, obj);
      if (!old) this.notify((h) => h.onAdd?.(obj));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.notify((h) => h.onUpdate?.(old, obj));
    }
    for (const key of this.indexer.keys()) {
      if (!seen.has(key)) {
        const old = this.indexer.delete(key)!;
        this.notify((h) => h.onDelete?.(old));
      }
    }
    this.resourceVersion = res.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(): Promise<void> {
    const stream = this.client.watch(this.kind, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
    });
    this.stream = stream;
    if (this.stopped) stream.stop();
    for await (const ev of stream) {
      if (ev.type !== "BOOKMARK") {
        const key = objectKey(ev.object);
        if (ev.type === "DELETED") {
          const old = this.indexer.delete(key);
          this.notify((h) => h.onDelete?.(old ?? ev.object));
        } else {
          const old = this.indexer.set(key, ev.object);
          if (old) this.notify((h) => h.onUpdate?.(old, ev.object));
          else this.notify((h) => h.onAdd?.(ev.object));
        }
      }
      if (ev.resourceVersion) this.resourceVersion = ev.resourceVersion;
    }
    if (!this.stopped) throw new Error("watch closed by the server");
  }
}

function reportHandlerError(e: unknown): void {
  process.emitWarning(`an informer event handler failed: ${(e as Error)?.stack ?? String(e)}`);
}
