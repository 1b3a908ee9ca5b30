import { clone } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  PV_PROTECTION_FINALIZER,
  PVC_PROTECTION_FINALIZER,
  isPodTerminal,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
} from "@kubelab/api";
import { splitKey, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";

/** The claims a pod's volumes name. */
export const podClaimNames = (pod: Pod): string[] =>
  (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));

/** Whether a pod keeps the claim in use: it names it and has not finished (pvc_protection_controller.go's podUsesPVC). */
export const podUsesClaim = (pod: Pod, claimName: string): boolean => !isPodTerminal(pod) && podClaimNames(pod).includes(claimName);

/** The finalizer decision of one object: add it, remove it, or leave it. */
export function finalizerAction(hasFinalizer: boolean, deleting: boolean, inUse: boolean): "add" | "remove" | undefined {
  if (!deleting) return hasFinalizer ? undefined : "add";
  return hasFinalizer && !inUse ? "remove" : undefined;
}

/**
 * Kubernetes' pvc-protection controller: a claim keeps kubernetes.io/pvc-protection while a pod
 * that has not finished uses it, so deleting it leaves it Terminating until the last such pod is
 * gone. Before removing the finalizer the pods are listed from the API server, not the cache, as
 * Kubernetes does: a pod just created must not be missed.
 */
export class PvcProtectionController extends QueueController {
  readonly name = "pvc-protection";
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly pods: Informer<Pod>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.claims = ctx.informers.for<PersistentVolumeClaim>("persistentvolumeclaims");
    this.pods = ctx.informers.for<Pod>("pods");
    this.claims.addEventHandler({ onAdd: (c) => this.enqueue(c), onUpdate: (_, c) => this.enqueue(c) });
    const podChanged = (p: Pod) => {
      for (const name of podClaimNames(p)) this.queue.add(`${p.metadata!.namespace}/${name}`);
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (_, p) => podChanged(p), onDelete: podChanged });
  }

  protected allKeys(): string[] {
    return this.claims.indexer.keys();
  }

  async reconcile(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim) return;
    const m = claim.metadata!;
    const deleting = !!m.deletionTimestamp;
    const has = m.finalizers.includes(PVC_PROTECTION_FINALIZER);
    let action = finalizerAction(has, deleting, this.inUse(claim));
    if (action === "remove") {
      const { namespace, name } = splitKey(key);
      const live = await this.ctx.client.listAll<Pod>("pods", { namespace });
      if (live.items.some((p) => podUsesClaim(p, name))) action = undefined;
    }
    if (!action) return;
    const next = clone(PersistentVolumeClaimSchema, claim);
    next.metadata!.finalizers =
      action === "add" ? [...m.finalizers, PVC_PROTECTION_FINALIZER] : m.finalizers.filter((f) => f !== PVC_PROTECTION_FINALIZER);
    await this.ctx.client.update(next);
  }

  private inUse(claim: PersistentVolumeClaim): boolean {
    const m = claim.metadata!;
    return this.pods.indexer.byIndex("namespace", m.namespace).some((p) => podUsesClaim(p, m.name));
  }
}

/**
 * Kubernetes' pv-protection controller: a volume keeps kubernetes.io/pv-protection while it is
 * Bound, so deleting a bound volume leaves it Terminating until its claim lets it go.
 */
export class PvProtectionController extends QueueController {
  readonly name = "pv-protection";
  private readonly volumes: Informer<PersistentVolume>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.volumes = ctx.informers.for<PersistentVolume>("persistentvolumes");
    this.volumes.addEventHandler({ onAdd: (v) => this.enqueue(v), onUpdate: (_, v) => this.enqueue(v) });
  }

  protected allKeys(): string[] {
    return this.volumes.indexer.keys();
  }

  async reconcile(key: string): Promise<void> {
    const pv = this.volumes.get(key);
    if (!pv) return;
    const m = pv.metadata!;
    const action = finalizerAction(m.finalizers.includes(PV_PROTECTION_FINALIZER), !!m.deletionTimestamp, pv.status?.phase === "Bound");
    if (!action) return;
    const next = clone(PersistentVolumeSchema, pv);
    next.metadata!.finalizers =
      action === "add" ? [...m.finalizers, PV_PROTECTION_FINALIZER] : m.finalizers.filter((f) => f !== PV_PROTECTION_FINALIZER);
    await this.ctx.client.update(next);
  }
}
