import { kindFor, type KubeObject, type OwnerReference } from "@kubelab/api";
import { ignoreNotFound, isConflict, isNotFound, objectKey, type Informer } from "@kubelab/client";
import { refJson } from "../ownerRefs.js";
import { QueueController, type ControllerContext } from "../queueController.js";

/** Kinds whose objects may own others, and kinds whose objects may be owned. */
const OWNER_RESOURCES = ["deployments", "replicasets", "jobs", "nodes"];
const DEPENDENT_RESOURCES = ["replicasets", "pods", "leases"];

const FOREGROUND = "foregroundDeletion";
const ORPHAN = "orphan";

/** Being deleted with a propagation the collector carries out (Foreground or Orphan). */
const hasGcFinalizer = (o: KubeObject) =>
  !!o.metadata?.deletionTimestamp && (o.metadata.finalizers.includes(FOREGROUND) || o.metadata.finalizers.includes(ORPHAN));

/**
 * Kubernetes' garbage collector, reduced to owner references: an object whose owners are all
 * gone is deleted (background propagation); an owner deleted with propagationPolicy Foreground
 * (finalizer foregroundDeletion) goes only after its dependents, which are deleted first; one
 * deleted with Orphan (finalizer orphan) has its dependents' references removed and them left.
 * Keys are "<resource>|<namespace>/<name>" of either side.
 */
export class GarbageCollector extends QueueController {
  readonly name = "garbagecollector";
  private readonly owners = new Map<string, Informer<KubeObject>>();
  private readonly dependents = new Map<string, Informer<KubeObject>>();

  constructor(ctx: ControllerContext) {
    super(ctx);
    for (const r of DEPENDENT_RESOURCES) {
      const inf = ctx.informers.for<KubeObject>(r);
      inf.indexer.addIndex("ownerUid", (o) => o.metadata?.ownerReferences.map((x) => x.uid) ?? []);
      this.dependents.set(r, inf);
      inf.addEventHandler({
        onAdd: (o) => this.enqueueDependent(r, o),
        onUpdate: (_, o) => this.enqueueDependent(r, o),
      });
    }
    for (const r of OWNER_RESOURCES) {
      const inf = ctx.informers.for<KubeObject>(r);
      this.owners.set(r, inf);
      inf.addEventHandler({
        onUpdate: (_, o) => {
          if (o.metadata?.deletionTimestamp) this.queue.add(`${r}|${objectKey(o)}`);
        },
        onDelete: (o) => this.enqueueDependentsOf(o.metadata!.uid),
      });
    }
  }

  protected allKeys(): string[] {
    const keys: string[] = [];
    for (const [r, inf] of this.dependents)
      for (const o of inf.list()) if (o.metadata?.ownerReferences.length || hasGcFinalizer(o)) keys.push(`${r}|${objectKey(o)}`);
    for (const [r, inf] of this.owners) for (const o of inf.list()) if (o.metadata?.deletionTimestamp) keys.push(`${r}|${objectKey(o)}`);
    return keys;
  }

  private enqueueDependent(resource: string, o: KubeObject) {
    if (o.metadata?.ownerReferences.length || hasGcFinalizer(o)) this.queue.add(`${resource}|${objectKey(o)}`);
  }

  private enqueueDependentsOf(uid: string) {
    for (const [r, inf] of this.dependents) for (const d of inf.indexer.byIndex("ownerUid", uid)) this.queue.add(`${r}|${objectKey(d)}`);
  }

  private dependentsOf(uid: string): Array<{ resource: string; obj: KubeObject }> {
    const out: Array<{ resource: string; obj: KubeObject }> = [];
    for (const [r, inf] of this.dependents) for (const d of inf.indexer.byIndex("ownerUid", uid)) out.push({ resource: r, obj: d });
    return out;
  }

  async reconcile(key: string): Promise<void> {
    const [resource, objKey] = key.split("|") as [string, string];
    const obj = (this.owners.get(resource) ?? this.dependents.get(resource))?.get(objKey);
    if (!obj) return;
    if (hasGcFinalizer(obj)) await this.processDeletingOwner(resource, obj);
    if (this.dependents.has(resource) && obj.metadata?.ownerReferences.length) await this.processDependent(resource, obj);
  }

  /**
   * Foreground: delete the dependents (foreground again, so theirs go first too), then let the
   * owner go. Orphan: cut the references, then let it go. An object with no dependents just goes.
   */
  private async processDeletingOwner(resource: string, owner: KubeObject): Promise<void> {
    const m = owner.metadata!;
    const deps = this.dependentsOf(m.uid);
    if (m.finalizers.includes(ORPHAN)) {
      for (const d of deps) {
        const refs = d.obj.metadata!.ownerReferences.filter((r) => r.uid !== m.uid).map(refJson);
        await this.patch(d.resource, d.obj, { metadata: { ownerReferences: refs } });
      }
      await this.removeFinalizer(resource, owner, ORPHAN);
      return;
    }
    if (m.finalizers.includes(FOREGROUND)) {
      const blocking = deps.filter((d) => d.obj.metadata!.ownerReferences.some((r) => r.uid === m.uid));
      for (const d of blocking) {
        if (!d.obj.metadata!.deletionTimestamp) await this.delete(d.resource, d.obj, "Foreground");
      }
      if (blocking.length === 0) await this.removeFinalizer(resource, owner, FOREGROUND);
      else this.queue.addAfter(`${resource}|${objectKey(owner)}`, 1000);
    }
  }

  /** A dependent whose owners are all gone is deleted; one with some owners left loses the dead references. */
  private async processDependent(resource: string, obj: KubeObject): Promise<void> {
    const refs = obj.metadata!.ownerReferences;
    const dangling: OwnerReference[] = [];
    let foregroundOwner = false;
    for (const ref of refs) {
      const owner = await this.ownerState(obj, ref);
      if (owner === "absent") dangling.push(ref);
      else if (owner === "foreground") foregroundOwner = true;
    }
    if (foregroundOwner && !obj.metadata!.deletionTimestamp) {
      await this.delete(resource, obj, "Foreground");
      return;
    }
    if (dangling.length === 0) return;
    if (dangling.length === refs.length) {
      await this.delete(resource, obj, "Background");
      return;
    }
    const gone = new Set(dangling.map((r) => r.uid));
    await this.patch(resource, obj, { metadata: { ownerReferences: refs.filter((r) => !gone.has(r.uid)).map(refJson) } });
  }

  /** Whether an owner exists; the cache's "absent" is confirmed by a read, as a new owner may not be cached yet. */
  private async ownerState(dependent: KubeObject, ref: OwnerReference): Promise<"present" | "absent" | "foreground"> {
    const def = kindFor(ref.apiVersion, ref.kind);
    if (!def) return "present"; // a kind we do not know: never collect on its account
    const ns = def.namespaced ? dependent.metadata!.namespace : "";
    const key = ns ? `${ns}/${ref.name}` : ref.name;
    let owner = this.owners.get(def.resource)?.get(key);
    if (!owner || owner.metadata!.uid !== ref.uid) {
      try {
        owner = await this.ctx.client.get(def.resource, ns, ref.name);
      } catch (e) {
        if (isNotFound(e)) return "absent";
        throw e;
      }
      if (owner.metadata!.uid !== ref.uid) return "absent";
    }
    return owner.metadata!.deletionTimestamp && owner.metadata!.finalizers.includes(FOREGROUND) ? "foreground" : "present";
  }

  private async delete(resource: string, obj: KubeObject, policy: "Background" | "Foreground"): Promise<void> {
    const m = obj.metadata!;
    try {
      await this.ctx.client.delete(resource, m.namespace, m.name, { preconditions: { uid: m.uid }, propagationPolicy: policy });
      this.ctx.log.info("garbage collected", { resource, object: objectKey(obj), policy });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  private async patch(resource: string, obj: KubeObject, patch: Record<string, unknown>): Promise<void> {
    const m = obj.metadata!;
    await ignoreNotFound(this.ctx.client.patch(resource, m.namespace, m.name, patch));
  }

  private async removeFinalizer(resource: string, obj: KubeObject, finalizer: string): Promise<void> {
    const m = obj.metadata!;
    try {
      await this.patch(resource, obj, {
        metadata: { finalizers: m.finalizers.filter((f) => f !== finalizer), resourceVersion: m.resourceVersion },
      });
    } catch (e) {
      // Changed meanwhile: its update event brings it back.
      if (!isConflict(e)) throw e;
    }
  }
}
