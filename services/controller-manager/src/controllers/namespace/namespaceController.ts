import { storedKinds, type Namespace } from "@kubelab/api";
import { ignoreNotFound, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";

/**
 * Deleting a Namespace deletes everything in it: while the namespace is Terminating (its
 * "kubernetes" finalizer holds it), every namespaced object in it is deleted; once nothing is
 * left (pods may take their grace period), the finalizer goes and so does the namespace.
 */
export class NamespaceController extends QueueController {
  readonly name = "namespace";
  private readonly namespaces: Informer<Namespace>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.namespaces = ctx.informers.for<Namespace>("namespaces");
    this.namespaces.addEventHandler({ onAdd: (n) => this.enqueue(n), onUpdate: (_, n) => this.enqueue(n) });
  }

  protected allKeys(): string[] {
    return this.namespaces
      .list()
      .filter((n) => n.metadata?.deletionTimestamp)
      .map((n) => n.metadata!.name);
  }

  async reconcile(key: string): Promise<void> {
    const ns = this.namespaces.get(key);
    if (!ns?.metadata?.deletionTimestamp || !ns.spec?.finalizers.includes("kubernetes")) return;
    let remaining = 0;
    for (const def of storedKinds().filter((k) => k.namespaced)) {
      const { items } = await this.ctx.client.listAll(def.resource, { namespace: key });
      for (const obj of items) {
        remaining++;
        if (obj.metadata!.deletionTimestamp) continue;
        await ignoreNotFound(this.ctx.client.delete(def.resource, key, obj.metadata!.name, { propagationPolicy: "Background" }));
      }
    }
    if (remaining > 0) {
      this.queue.addAfter(key, 1000);
      return;
    }
    await ignoreNotFound(
      this.ctx.client.update<Namespace>({ ...ns, spec: { ...ns.spec, finalizers: ns.spec.finalizers.filter((f) => f !== "kubernetes") } }),
    );
  }
}
