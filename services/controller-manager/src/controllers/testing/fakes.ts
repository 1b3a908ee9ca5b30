import { clone } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import {
  FieldSelector,
  LabelSelector,
  decodeObject,
  kindOf,
  objectToJson,
  scaleOf,
  selectableFieldValue,
  type Scalable,
  type Scale,
  type KindDefinition,
  type KubeObject,
} from "@kubelab/api";
import {
  ApiError,
  Indexer,
  kindDef,
  objectKey,
  type ApiClient,
  type DeleteOptions,
  type EventHandler,
  type EventRecorder,
  type EventTarget,
  type EventType,
  type InformerFactory,
  type KindRef,
  type ListOptions,
  type ListResult,
  type WorkQueue,
} from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { ControllerContext } from "../queueController.js";

// Test support for controllers, after client-go's fake clientset and sample-controller's
// controller_test.go: a client over an in-memory store that records every call, informers whose
// caches a test fills by hand, and a recorder that keeps its events. Nothing here runs a watch,
// a timer or a worker: a test feeds the caches, calls reconcile(key), and reads what was done.

/** One call the controller made, as client-go's testing.Action records it. */
export interface Action {
  verb: "create" | "get" | "list" | "update" | "updateStatus" | "patch" | "delete";
  resource: string;
  namespace: string;
  name: string;
  /** What was sent: the object of create, update and updateStatus. */
  object?: KubeObject;
  /** The merge patch document of patch. */
  patch?: Record<string, unknown>;
  subresource?: string;
  deleteOptions?: DeleteOptions;
  listOptions?: ListOptions;
}

/**
 * Answers an action before the store does (client-go's PrependReactor): return an error to fail
 * the call with it, or undefined to let the store handle it.
 */
export type Reactor = (action: Action) => Error | undefined;

// Kubernetes' wording (k8s.io/apimachinery/pkg/api/errors), as services/apiserver/src/apiErrors.ts builds it.
const qualified = (def: KindDefinition) =>
  def.apiVersion.includes("/") ? `${def.resource}.${def.apiVersion.split("/")[0]}` : def.resource;

export const notFoundError = (def: KindDefinition, name: string) =>
  new ApiError(status.NOT_FOUND, `${qualified(def)} "${name}" not found`, "NotFound");

export const alreadyExistsError = (def: KindDefinition, name: string) =>
  new ApiError(status.ALREADY_EXISTS, `${qualified(def)} "${name}" already exists`, "AlreadyExists");

export const conflictError = (
  def: KindDefinition,
  name: string,
  detail = "the object has been modified; please apply your changes to the latest version and try again",
) => new ApiError(status.ABORTED, `Operation cannot be fulfilled on ${qualified(def)} "${name}": ${detail}`, "Conflict");

/** Kubernetes' timestamp form: RFC 3339 to the second, at Date.now() (so vitest's fake clock moves it). */
export const timestamp = (offsetSeconds = 0) => new Date(Date.now() + offsetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

const copy = <T extends KubeObject>(obj: T): T => {
  const def = kindOf(obj);
  const c = clone(def.schema, obj) as T;
  c.apiVersion = def.apiVersion;
  c.kind = def.kind;
  return c;
};

/** RFC 7396 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

const hasFinalizers = (def: KindDefinition, obj: KubeObject) =>
  (obj.metadata?.finalizers.length ?? 0) > 0 || (def.specFinalizers?.(obj).length ?? 0) > 0;

/**
 * An ApiClient over an in-memory store, with the API server's rules that controllers depend on:
 * NotFound and AlreadyExists, optimistic concurrency (a stale resourceVersion in an update, or one
 * pinned in a merge patch, is a Conflict), delete preconditions, graceful deletion (a pod bound to
 * a node gets a deletionTimestamp; Foreground and Orphan add their finalizer), and the removal of
 * an object being deleted once its last finalizer goes. It neither defaults nor validates.
 *
 * Every call is recorded in `actions`, reads included; `writes()` leaves the reads out.
 */
export class FakeClient {
  readonly actions: Action[] = [];
  private readonly store = new Map<string, KubeObject>();
  private readonly reactors: Array<{ verb: Action["verb"] | "*"; resource: string; react: Reactor }> = [];
  private revision = 100;
  private generated = 0;

  constructor(objects: KubeObject[] = []) {
    for (const o of objects) this.seed(o);
  }

  /** Puts an object in the store as it is (a resourceVersion is given if it has none); records nothing. */
  seed(obj: KubeObject): void {
    const def = kindOf(obj);
    const c = copy(obj);
    const m = c.metadata!;
    if (def.namespaced && !m.namespace) m.namespace = "default";
    if (!m.resourceVersion) m.resourceVersion = String(++this.revision);
    this.store.set(this.key(def, m.namespace, m.name), c);
  }

  /** The stored object, or undefined. */
  object<T extends KubeObject>(resource: string, namespace: string, name: string): T | undefined {
    const def = kindDef(resource);
    const o = this.store.get(this.key(def, namespace, name));
    return o && (copy(o) as T);
  }

  /** Every stored object of a resource (in one namespace if given). */
  objects<T extends KubeObject>(resource: string, namespace?: string): T[] {
    const def = kindDef(resource);
    return this.matching(def, namespace ?? "").map((o) => copy(o) as T);
  }

  /** The calls that change something: everything but get and list. */
  writes(): Action[] {
    return this.actions.filter((a) => a.verb !== "get" && a.verb !== "list");
  }

  /** Fails matching calls with the reactor's error; verb or resource "*" matches every one. */
  prependReactor(verb: Action["verb"] | "*", resource: string, react: Reactor): void {
    this.reactors.unshift({ verb, resource, react });
  }

  private key(def: KindDefinition, namespace: string, name: string): string {
    return def.namespaced ? `${def.resource}|${namespace || "default"}/${name}` : `${def.resource}|${name}`;
  }

  private record(action: Action): void {
    this.actions.push(action);
    for (const r of this.reactors) {
      if ((r.verb === "*" || r.verb === action.verb) && (r.resource === "*" || r.resource === action.resource)) {
        const err = r.react(action);
        if (err) throw err;
      }
    }
  }

  private matching(def: KindDefinition, namespace: string): KubeObject[] {
    const prefix = def.namespaced && namespace ? `${def.resource}|${namespace}/` : `${def.resource}|`;
    return [...this.store.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => o);
  }

  private current(def: KindDefinition, namespace: string, name: string): KubeObject {
    const cur = this.store.get(this.key(def, namespace, name));
    if (!cur) throw notFoundError(def, name);
    return cur;
  }

  /**
   * Stores `next` as the successor of the stored object: a new resourceVersion, or, if it is being
   * deleted and its last finalizer is gone, its removal (as the API server's guaranteedUpdate).
   */
  private commit(def: KindDefinition, next: KubeObject): KubeObject {
    const m = next.metadata!;
    m.resourceVersion = String(++this.revision);
    const key = this.key(def, m.namespace, m.name);
    const graceRunning = !!def.deletionGracePeriod && Date.parse(m.deletionTimestamp) > Date.now();
    if (m.deletionTimestamp && !hasFinalizers(def, next) && !graceRunning) this.store.delete(key);
    else this.store.set(key, copy(next));
    return copy(next);
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    const def = kindOf(obj);
    const m = obj.metadata!;
    const namespace = def.namespaced ? m.namespace || "default" : "";
    this.record({ verb: "create", resource: def.resource, namespace, name: m.name || m.generateName, object: copy(obj) });
    const next = copy(obj);
    const nm = next.metadata!;
    nm.namespace = namespace;
    if (!nm.name && nm.generateName) nm.name = `${nm.generateName}${(++this.generated).toString(36).padStart(5, "0")}`;
    if (this.store.has(this.key(def, namespace, nm.name))) throw alreadyExistsError(def, nm.name);
    nm.uid ||= `uid-${def.resource}-${nm.name}`;
    nm.creationTimestamp = timestamp();
    nm.deletionTimestamp = "";
    nm.resourceVersion = String(++this.revision);
    this.store.set(this.key(def, namespace, nm.name), copy(next));
    return next;
  }

  async get<T extends KubeObject>(kind: KindRef<T>, namespace: string, name: string): Promise<T> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const ns = def.namespaced ? namespace || "default" : "";
    this.record({ verb: "get", resource: def.resource, namespace: ns, name });
    return copy(this.current(def, ns, name)) as T;
  }

  async list<T extends KubeObject>(kind: KindRef<T>, opts: ListOptions = {}): Promise<ListResult<T>> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const ns = def.namespaced ? (opts.namespace ?? "") : "";
    this.record({ verb: "list", resource: def.resource, namespace: ns, name: "", listOptions: { ...opts } });
    const labels = LabelSelector.parse(opts.labelSelector ?? "");
    const fields = FieldSelector.parse(opts.fieldSelector ?? "");
    const items = this.matching(def, ns)
      .filter((o) => labels.matches(o.metadata?.labels) && fields.matches((f) => selectableFieldValue(def, o, f)))
      .map((o) => copy(o) as T);
    return { items, resourceVersion: String(this.revision), continue: "" };
  }

  /** One list call of every item (the fake does not page). */
  listAll<T extends KubeObject>(kind: KindRef<T>, opts: Omit<ListOptions, "continue"> = {}): Promise<ListResult<T>> {
    return this.list(kind, opts);
  }

  async update<T extends KubeObject>(obj: T): Promise<T> {
    return this.write(obj, "update");
  }

  async updateStatus<T extends KubeObject>(obj: T): Promise<T> {
    return this.write(obj, "updateStatus");
  }

  private write<T extends KubeObject>(obj: T, verb: "update" | "updateStatus"): T {
    const def = kindOf(obj);
    const m = obj.metadata!;
    const ns = def.namespaced ? m.namespace || "default" : "";
    this.record({ verb, resource: def.resource, namespace: ns, name: m.name, object: copy(obj) });
    const cur = this.current(def, ns, m.name);
    if (m.resourceVersion && m.resourceVersion !== cur.metadata!.resourceVersion) throw conflictError(def, m.name);
    return this.commit(def, this.successor(def, cur, copy(obj), verb === "updateStatus" ? "status" : "")) as T;
  }

  /** What the API server keeps of an update: metadata it owns, and status or spec by subresource. */
  private successor(def: KindDefinition, cur: KubeObject, input: KubeObject, subresource: "" | "status"): KubeObject {
    type Parts = KubeObject & { status?: unknown };
    const next = copy(cur) as Parts;
    if (subresource === "status") {
      next.status = (input as Parts).status;
      return next;
    }
    const out = input as Parts;
    const m = out.metadata!;
    const o = cur.metadata!;
    m.namespace = o.namespace;
    m.uid = o.uid;
    m.creationTimestamp = o.creationTimestamp;
    m.deletionTimestamp = o.deletionTimestamp;
    m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
    if (def.hasStatus) out.status = (cur as Parts).status;
    return out;
  }

  async patch<T extends KubeObject>(
    kind: KindRef<T>,
    namespace: string,
    name: string,
    patch: object | string,
    subresource = "",
  ): Promise<T> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const ns = def.namespaced ? namespace || "default" : "";
    const doc = (typeof patch === "string" ? JSON.parse(patch) : structuredClone(patch)) as Record<string, unknown>;
    this.record({ verb: "patch", resource: def.resource, namespace: ns, name, patch: doc, subresource });
    const cur = this.current(def, ns, name);
    const pinned = (doc.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
    if (typeof pinned === "string" && pinned && pinned !== cur.metadata!.resourceVersion) throw conflictError(def, name);
    const patched = decodeObject(applyMergePatch(objectToJson(cur), doc)).obj;
    return this.commit(def, this.successor(def, cur, patched, subresource === "status" ? "status" : "")) as T;
  }

  /** The scale subresource, over the store's Deployments and ReplicaSets (recorded as the get or patch it is). */
  async getScale(resource: "deployments" | "replicasets", namespace: string, name: string): Promise<Scale> {
    return scaleOf(await this.get<Scalable>(resource, namespace, name));
  }

  async updateScale(resource: "deployments" | "replicasets", scale: Scale): Promise<Scale> {
    const m = scale.metadata!;
    const patch = {
      spec: { replicas: scale.spec?.replicas ?? 0 },
      ...(m.resourceVersion && { metadata: { resourceVersion: m.resourceVersion } }),
    };
    return scaleOf(await this.patch<Scalable>(resource, m.namespace, m.name, patch));
  }

  async delete<T extends KubeObject>(
    kind: KindRef<T>,
    namespace: string,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: T; removed: boolean }> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const ns = def.namespaced ? namespace || "default" : "";
    this.record({ verb: "delete", resource: def.resource, namespace: ns, name, deleteOptions: structuredClone(opts) });
    const cur = this.current(def, ns, name);
    const m = cur.metadata!;
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== m.uid) {
      throw conflictError(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${m.uid}`);
    }
    if (pre.resourceVersion && pre.resourceVersion !== m.resourceVersion) {
      throw conflictError(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion}`,
      );
    }
    const grace = def.deletionGracePeriod?.(cur, opts.gracePeriodSeconds) ?? 0;
    const policyFinalizer = ({ Foreground: "foregroundDeletion", Orphan: "orphan" } as Record<string, string>)[
      opts.propagationPolicy ?? ""
    ];
    if (m.deletionTimestamp) {
      // Already being deleted: only a shorter grace period changes anything.
      if (m.deletionGracePeriodSeconds === undefined || grace >= m.deletionGracePeriodSeconds)
        return { object: copy(cur) as T, removed: false };
      if (grace === 0 && !hasFinalizers(def, cur)) {
        this.store.delete(this.key(def, ns, name));
        return { object: copy(cur) as T, removed: true };
      }
      const next = copy(cur);
      next.metadata!.deletionGracePeriodSeconds = grace;
      next.metadata!.deletionTimestamp = timestamp(grace);
      return { object: this.commit(def, next) as T, removed: false };
    }
    if (hasFinalizers(def, cur) || policyFinalizer !== undefined || grace > 0) {
      const next = copy(cur);
      next.metadata!.deletionTimestamp = timestamp(grace);
      next.metadata!.deletionGracePeriodSeconds = grace;
      if (policyFinalizer && !next.metadata!.finalizers.includes(policyFinalizer)) next.metadata!.finalizers.push(policyFinalizer);
      def.onDeletionStart?.(next);
      return { object: this.commit(def, next) as T, removed: false };
    }
    this.store.delete(this.key(def, ns, name));
    return { object: copy(cur) as T, removed: true };
  }
}

/**
 * An informer that never lists or watches: a test fills its indexer (directly, or with add,
 * update and delete, which also call the handlers as a watch event would). It counts as synced.
 */
export class FakeInformer<T extends KubeObject> {
  readonly indexer = new Indexer<T>();
  private readonly handlers: EventHandler<T>[] = [];

  addEventHandler(h: EventHandler<T>): void {
    this.handlers.push(h);
    for (const obj of this.indexer.list()) h.onAdd?.(obj);
  }

  get hasSynced(): boolean {
    return true;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  waitForSync(): Promise<void> {
    return Promise.resolve();
  }

  stop(): void {}

  list(): T[] {
    return this.indexer.list();
  }

  get(key: string): T | undefined {
    return this.indexer.get(key);
  }

  /** Caches the object and calls onAdd (onUpdate if its key was cached), as an ADDED event. */
  add(obj: T): void {
    const old = this.indexer.set(objectKey(obj), obj);
    if (old) this.handlers.forEach((h) => h.onUpdate?.(old, obj));
    else this.handlers.forEach((h) => h.onAdd?.(obj));
  }

  /** Caches the object and calls onUpdate with the one it replaces, as a MODIFIED event. */
  update(obj: T): void {
    const old = this.indexer.set(objectKey(obj), obj);
    if (old) this.handlers.forEach((h) => h.onUpdate?.(old, obj));
    else this.handlers.forEach((h) => h.onAdd?.(obj));
  }

  /** Drops the object and calls onDelete, as a DELETED event. */
  delete(obj: T): void {
    const old = this.indexer.delete(objectKey(obj));
    this.handlers.forEach((h) => h.onDelete?.(old ?? obj));
  }
}

/** InformerFactory's surface over FakeInformers: one per resource, each indexed by namespace as the real ones are. */
export class FakeInformerFactory {
  private readonly informers = new Map<string, FakeInformer<KubeObject>>();

  for<T extends KubeObject>(resource: string): FakeInformer<T> {
    let inf = this.informers.get(resource);
    if (!inf) {
      inf = new FakeInformer<KubeObject>();
      inf.indexer.addIndex("namespace", (o) => [o.metadata?.namespace ?? ""]);
      this.informers.set(resource, inf);
    }
    return inf as unknown as FakeInformer<T>;
  }

  /** Puts objects in their informers' caches without calling handlers, as an initial list leaves them. */
  seed(...objs: KubeObject[]): void {
    for (const o of objs) this.for(kindOf(o).resource).indexer.set(objectKey(o), copy(o));
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): void {}
}

/** An event as sample-controller's FakeRecorder prints it ("Normal SuccessfulCreate Created pod: x"), with its object. */
export interface RecordedEvent {
  kind: string;
  namespace: string;
  name: string;
  fieldPath: string;
  type: EventType;
  reason: string;
  message: string;
}

/** An EventRecorder that keeps its events in memory. */
export class FakeRecorder {
  readonly events: RecordedEvent[] = [];

  event(target: EventTarget, type: EventType, reason: string, message: string, fieldPath = ""): void {
    const t = target as { kind?: string; namespace?: string; name?: string; metadata?: { namespace?: string; name?: string } };
    this.events.push({
      kind: t.kind || (t.metadata ? kindOf(target as KubeObject).kind : ""),
      namespace: t.metadata?.namespace ?? t.namespace ?? "",
      name: t.metadata?.name ?? t.name ?? "",
      fieldPath,
      type,
      reason,
      message,
    });
  }

  /** "<type> <reason> <message>" of each event, in order. */
  lines(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason} ${e.message}`);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}

/** A Logger that keeps its lines. */
export function fakeLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg}${fields ? ` ${JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v))}` : ""}`);
  };
  const logger: Logger & { lines: string[] } = {
    lines,
    debug: write("D"),
    info: write("I"),
    warn: write("W"),
    error: write("E"),
    with: () => logger,
  };
  return logger;
}

/** A controller's context over fakes, and the fakes, for a test to feed and read. */
export interface Fixture {
  ctx: ControllerContext;
  client: FakeClient;
  informers: FakeInformerFactory;
  recorder: FakeRecorder;
  log: Logger & { lines: string[] };
  /** Puts objects in the client's store and in their informers' caches (handlers not called). */
  seed(...objs: KubeObject[]): void;
  /**
   * Brings an informer up to the client's store for one object, calling its handlers as a watch
   * event would: the stored object is added or updated, a removed one deleted.
   */
  observe(resource: string, namespace: string, name: string): void;
}

export function newFixture(...objs: KubeObject[]): Fixture {
  const client = new FakeClient();
  const informers = new FakeInformerFactory();
  const recorder = new FakeRecorder();
  const log = fakeLogger();
  const ctx: ControllerContext = {
    client: client as unknown as ApiClient,
    informers: informers as unknown as InformerFactory,
    recorder: recorder as unknown as EventRecorder,
    log,
  };
  const f: Fixture = {
    ctx,
    client,
    informers,
    recorder,
    log,
    seed(...more) {
      for (const o of more) {
        client.seed(o);
        const def = kindOf(o);
        informers.seed(client.object(def.resource, o.metadata?.namespace ?? "", o.metadata!.name)!);
      }
    },
    observe(resource, namespace, name) {
      const def = kindDef(resource);
      const inf = informers.for<KubeObject>(def.resource);
      const key = def.namespaced ? `${namespace || "default"}/${name}` : name;
      const stored = client.object(def.resource, namespace, name);
      if (stored) inf.update(stored);
      else {
        const cached = inf.get(key);
        if (cached) inf.delete(cached);
      }
    },
  };
  f.seed(...objs);
  return f;
}

/**
 * Takes every key the queue holds now, each one got and done as a worker that did nothing would,
 * and returns them in order: after a controller is made, the keys its handlers queued for what was
 * cached. Keys added after a delay are not there yet and stay to come.
 */
export async function drainQueue(queue: WorkQueue<string>): Promise<string[]> {
  const keys: string[] = [];
  while (queue.length) {
    const key = (await queue.get())!;
    queue.done(key);
    keys.push(key);
  }
  return keys;
}
