import { create, equals } from "@bufbuild/protobuf";
import {
  LabelSelector,
  ReplicaSetStatusSchema,
  isPodActive,
  isPodAvailable,
  isPodReady,
  msUntilPodAvailable,
  type Pod,
  type ReplicaSet,
} from "@kubelab/api";
import { isConflict, isNotFound, objectKey, splitKey, writeStatus, type Informer } from "@kubelab/client";
import { Expectations } from "../expectations.js";
import { controllerRef, newControllerRef } from "../ownerRefs.js";
import { claimObjects } from "../controllerRefManager.js";
import { PodControl, slowStartBatch } from "../podControl.js";
import { QueueController, type ControllerContext } from "../queueController.js";
import { podsToDelete } from "./podsToDelete.js";

/** At most this many pods created or deleted per reconcile (Kubernetes' burstReplicas). */
const BURST_REPLICAS = 500;

/** Keeps `replicas` pods matching each ReplicaSet's selector, as Kubernetes' ReplicaSetController. */
export class ReplicaSetController extends QueueController {
  readonly name = "replicaset";
  private readonly expectations = new Expectations();
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly podControl: PodControl;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.sets = ctx.informers.for<ReplicaSet>("replicasets");
    this.pods = ctx.informers.for<Pod>("pods");
    this.podControl = new PodControl(ctx.client, ctx.recorder);
    this.sets.addEventHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (_, rs) => this.enqueue(rs),
      onDelete: (rs) => {
        this.expectations.forget(objectKey(rs));
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => {
        const owner = this.ownerKey(p);
        if (owner) {
          this.expectations.creationObserved(owner);
          this.queue.add(owner);
        } else this.enqueueMatching(p);
      },
      onUpdate: (a, b) => {
        const oldOwner = this.ownerKey(a);
        const newOwner = this.ownerKey(b);
        if (oldOwner && oldOwner !== newOwner) this.queue.add(oldOwner);
        if (newOwner) {
          this.queue.add(newOwner);
          // A pod that just became ready becomes available after minReadySeconds: look again then.
          const rs = this.sets.get(newOwner);
          const wait = rs ? msUntilPodAvailable(b, rs.spec?.minReadySeconds ?? 0) : undefined;
          if (wait !== undefined) this.queue.addAfter(newOwner, wait + 50);
        } else if (JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels)) this.enqueueMatching(b);
      },
      onDelete: (p) => {
        const owner = this.ownerKey(p);
        if (owner) {
          this.expectations.deletionObserved(owner, p.metadata!.uid);
          this.queue.add(owner);
        }
      },
    });
  }

  protected allKeys(): string[] {
    return this.sets.indexer.keys();
  }

  private ownerKey(p: Pod): string | undefined {
    const ref = controllerRef(p);
    if (ref?.kind !== "ReplicaSet") return undefined;
    const key = `${p.metadata!.namespace}/${ref.name}`;
    const rs = this.sets.get(key);
    return rs && rs.metadata!.uid === ref.uid ? key : undefined;
  }

  /** An orphan pod may be adopted by any ReplicaSet of its namespace whose selector matches. */
  private enqueueMatching(p: Pod): void {
    for (const rs of this.sets.indexer.byIndex("namespace", p.metadata!.namespace)) {
      if (selectorOf(rs)?.matches(p.metadata?.labels)) this.enqueue(rs);
    }
  }

  async reconcile(key: string): Promise<void> {
    const rs = this.sets.get(key);
    if (!rs) {
      this.expectations.forget(key);
      return;
    }
    const selector = selectorOf(rs);
    if (!selector) return; // validation refuses these; nothing sensible to do
    const { namespace } = splitKey(key);
    // Kubernetes' ClaimPods.
    const pods = await claimObjects(
      rs,
      newControllerRef(rs, "apps/v1", "ReplicaSet"),
      selector,
      this.pods.indexer.byIndex("namespace", namespace),
      (p, refs) => this.patchOwners(p, refs),
    );
    const active = pods.filter(isPodActive);

    if (this.expectations.satisfied(key) && !rs.metadata!.deletionTimestamp) {
      const diff = active.length - (rs.spec?.replicas ?? 1);
      if (diff < 0) {
        const n = Math.min(-diff, BURST_REPLICAS);
        this.expectations.expectCreations(key, n);
        const ref = newControllerRef(rs, "apps/v1", "ReplicaSet");
        const { done, error } = await slowStartBatch(n, () => this.podControl.create(rs, rs.spec!.template!, ref));
        // Creations that never happened will never be observed.
        for (let i = done; i < n; i++) this.expectations.creationObserved(key);
        if (error) throw error;
      } else if (diff > 0) {
        const victims = podsToDelete(active, Math.min(diff, BURST_REPLICAS));
        this.expectations.expectDeletions(
          key,
          victims.map((p) => p.metadata!.uid),
        );
        await Promise.all(
          victims.map((p) =>
            this.podControl.delete(rs, p).catch((e) => {
              this.expectations.deletionObserved(key, p.metadata!.uid);
              throw e;
            }),
          ),
        );
      }
    }
    await this.updateStatus(rs, active);
  }

  private async patchOwners(p: Pod, ownerReferences: Record<string, unknown>[]): Promise<Pod | undefined> {
    try {
      return await this.ctx.client.patch<Pod>("pods", p.metadata!.namespace, p.metadata!.name, {
        metadata: { ownerReferences, uid: p.metadata!.uid, resourceVersion: p.metadata!.resourceVersion },
      });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return undefined; // it changed; the next event brings us back
      throw e;
    }
  }

  private async updateStatus(rs: ReplicaSet, active: Pod[]): Promise<void> {
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const status = create(ReplicaSetStatusSchema, {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels[k] === v)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady)).length,
      observedGeneration: rs.metadata!.generation,
      conditions: rs.status?.conditions ?? [],
    });
    if (rs.status && equals(ReplicaSetStatusSchema, status, rs.status)) return;
    await writeStatus(this.ctx.client, rs, status);
  }
}

function selectorOf(rs: ReplicaSet): LabelSelector | undefined {
  try {
    const s = LabelSelector.fromMessage(rs.spec?.selector);
    return s.empty ? undefined : s;
  } catch {
    return undefined;
  }
}
