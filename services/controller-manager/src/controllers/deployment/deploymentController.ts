import { clone, create, equals } from "@bufbuild/protobuf";
import {
  DeploymentStatusSchema,
  LabelSelector,
  LabelSelectorSchema,
  PodTemplateSpecSchema,
  ReplicaSetSchema,
  isPodActive,
  type Deployment,
  type Pod,
  type ReplicaSet,
} from "@kubelab/api";
import { ignoreNotFound, isAlreadyExists, isConflict, isNotFound, splitKey, writeStatus, type Informer } from "@kubelab/client";
import { controllerRef, newControllerRef } from "../ownerRefs.js";
import { claimObjects } from "../controllerRefManager.js";
import { QueueController, type ControllerContext } from "../queueController.js";
import { POD_TEMPLATE_HASH, podTemplateHash, withoutHashLabel } from "./podTemplateHash.js";
import { availableAboveMinimum, maxScaleDown, newReplicaSetReplicas, replicasOf } from "./rollingMath.js";
import { deploymentStatus } from "./status.js";

export const REVISION = "deployment.kubernetes.io/revision";
export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";

export const revisionOf = (o: { metadata?: { annotations: Record<string, string> } }) =>
  Number(o.metadata?.annotations[REVISION] ?? 0) || 0;

/**
 * Kubernetes' DeploymentController: a ReplicaSet per pod template (named by its hash), rolled
 * from old to new within maxSurge and maxUnavailable (or all at once with Recreate), revisions
 * in annotations, old ReplicaSets kept up to revisionHistoryLimit, and status with the
 * Available and Progressing conditions (ProgressDeadlineExceeded when a rollout is stuck).
 */
export class DeploymentController extends QueueController {
  readonly name = "deployment";
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.deployments = ctx.informers.for<Deployment>("deployments");
    this.sets = ctx.informers.for<ReplicaSet>("replicasets");
    this.pods = ctx.informers.for<Pod>("pods");
    this.deployments.addEventHandler({ onAdd: (d) => this.enqueue(d), onUpdate: (_, d) => this.enqueue(d) });
    const rsChanged = (rs: ReplicaSet) => {
      const ref = controllerRef(rs);
      if (ref?.kind === "Deployment") this.queue.add(`${rs.metadata!.namespace}/${ref.name}`);
      else if (!ref) for (const d of this.deployments.indexer.byIndex("namespace", rs.metadata!.namespace)) this.enqueue(d);
    };
    this.sets.addEventHandler({ onAdd: rsChanged, onUpdate: (_, rs) => rsChanged(rs), onDelete: rsChanged });
    // Recreate waits for the old pods to be gone: their deletion brings the Deployment back.
    this.pods.addEventHandler({
      onDelete: (p) => {
        const ref = controllerRef(p);
        const rs = ref?.kind === "ReplicaSet" ? this.sets.get(`${p.metadata!.namespace}/${ref.name}`) : undefined;
        if (rs) rsChanged(rs);
      },
    });
  }

  protected allKeys(): string[] {
    return this.deployments.indexer.keys();
  }

  async reconcile(key: string): Promise<void> {
    const d = this.deployments.get(key);
    if (!d || d.metadata!.deletionTimestamp) return;
    let selector: LabelSelector;
    try {
      selector = LabelSelector.fromMessage(d.spec?.selector);
    } catch {
      return;
    }
    if (selector.empty) return;
    const { namespace } = splitKey(key);
    // Kubernetes' ClaimReplicaSets: the ones it controls, matching orphans adopted, others released.
    const rsList = await claimObjects(
      d,
      newControllerRef(d, "apps/v1", "Deployment"),
      selector,
      this.sets.indexer.byIndex("namespace", namespace),
      (rs, ownerReferences) => this.patchRS(rs, { metadata: { ownerReferences, uid: rs.metadata!.uid } }),
    );
    const before = rsList.map((rs) => `${rs.metadata!.name}:${replicasOf(rs)}`).join(",");

    let newRS = rsList.find(
      (rs) =>
        rs.spec?.template &&
        d.spec?.template &&
        equals(PodTemplateSpecSchema, withoutHashLabel(rs.spec.template), withoutHashLabel(d.spec.template)),
    );
    let olds = rsList.filter((rs) => rs !== newRS);
    let created = false;

    if (d.spec?.paused) {
      // A paused Deployment is not rolled; only its size follows spec.replicas.
      if (newRS && replicasOf(newRS) !== (d.spec.replicas ?? 1) && olds.every((rs) => replicasOf(rs) === 0)) {
        newRS = await this.scale(d, newRS, d.spec.replicas ?? 1);
      }
    } else if (d.spec?.strategy?.type === "Recreate") {
      const running = olds.filter((rs) => replicasOf(rs) > 0);
      if (running.length > 0) {
        for (const rs of running) await this.scale(d, rs, 0);
      } else if (!this.oldPodsRunning(olds)) {
        if (!newRS) ({ rs: newRS, created } = await this.createNewReplicaSet(d, rsList, d.spec.replicas ?? 1));
        else newRS = await this.syncRevision(d, newRS, olds);
        if (replicasOf(newRS) !== (d.spec.replicas ?? 1)) newRS = await this.scale(d, newRS, d.spec.replicas ?? 1);
      }
    } else {
      if (!newRS) ({ rs: newRS, created } = await this.createNewReplicaSet(d, rsList, 0));
      else newRS = await this.syncRevision(d, newRS, olds);
      const all = [...olds, newRS];
      const desired = d.spec?.replicas ?? 1;
      if (replicasOf(newRS) > desired) newRS = await this.scale(d, newRS, desired);
      else if (replicasOf(newRS) < desired) {
        const next = newReplicaSetReplicas(d, all, newRS);
        if (next !== replicasOf(newRS)) newRS = await this.scale(d, newRS, next);
      }
      olds = await this.scaleDownOld(d, [...olds, newRS], olds, newRS);
    }

    if (newRS) await this.setDeploymentRevision(d, revisionOf(newRS));
    const all = newRS ? [...olds, newRS] : olds;
    await this.cleanupHistory(d, olds);
    const after = all.map((rs) => `${rs.metadata!.name}:${replicasOf(rs)}`).join(",");
    const { status, recheckInMs } = deploymentStatus(d, all, newRS, { created, scaled: before !== after });
    if (!d.status || !equals(DeploymentStatusSchema, d.status, status)) {
      await writeStatus(this.ctx.client, d, status);
    }
    if (recheckInMs !== undefined) this.queue.addAfter(key, recheckInMs);
  }

  private oldPodsRunning(olds: ReplicaSet[]): boolean {
    const uids = new Set(olds.map((rs) => rs.metadata!.uid));
    return this.pods.list().some((p) => uids.has(controllerRef(p)?.uid ?? "") && (isPodActive(p) || p.metadata?.deletionTimestamp));
  }

  private maxOldRevision(olds: ReplicaSet[]): number {
    return Math.max(0, ...olds.map(revisionOf));
  }

  private async createNewReplicaSet(
    d: Deployment,
    existing: ReplicaSet[],
    replicas: number,
  ): Promise<{ rs: ReplicaSet; created: boolean }> {
    const revision = this.maxOldRevision(existing) + 1;
    for (let collisions = d.status?.collisionCount ?? 0; ; collisions++) {
      const hash = podTemplateHash(d.spec!.template!, collisions);
      const template = clone(PodTemplateSpecSchema, d.spec!.template!);
      template.metadata!.labels[POD_TEMPLATE_HASH] = hash;
      const selector = clone(LabelSelectorSchema, d.spec!.selector!);
      selector.matchLabels[POD_TEMPLATE_HASH] = hash;
      const rs = create(ReplicaSetSchema, {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${d.metadata!.name}-${hash}`,
          namespace: d.metadata!.namespace,
          labels: { ...template.metadata!.labels },
          annotations: {
            ...this.carriedAnnotations(d),
            [REVISION]: String(revision),
            [DESIRED_REPLICAS]: String(d.spec?.replicas ?? 1),
            [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + (d.spec?.strategy?.type === "Recreate" ? 0 : 1)),
          },
          ownerReferences: [newControllerRef(d, "apps/v1", "Deployment")],
        },
        spec: { replicas, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
      });
      try {
        const made = await this.ctx.client.create(rs);
        this.ctx.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${made.metadata!.name} to ${replicas}`);
        return { rs: made, created: true };
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        // Ours already (the cache had not seen it yet), or a hash collision: try the next count.
        const cur = await this.ctx.client.get<ReplicaSet>("replicasets", d.metadata!.namespace, rs.metadata!.name);
        if (
          controllerRef(cur)?.uid === d.metadata!.uid &&
          equals(PodTemplateSpecSchema, withoutHashLabel(cur.spec!.template!), withoutHashLabel(d.spec!.template!))
        ) {
          return { rs: cur, created: false };
        }
        await writeStatus(this.ctx.client, d, { ...d.status!, collisionCount: collisions + 1 });
      }
    }
  }

  /** kubernetes.io/change-cause and other user annotations travel with the template's revision. */
  private carriedAnnotations(d: Deployment): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
      if (k === REVISION || k === "kubectl.kubernetes.io/last-applied-configuration" || k.startsWith("deployment.kubernetes.io/")) continue;
      out[k] = v;
    }
    return out;
  }

  /** A ReplicaSet brought back (a rollback) becomes the newest revision. */
  private async syncRevision(d: Deployment, rs: ReplicaSet, olds: ReplicaSet[]): Promise<ReplicaSet> {
    const max = this.maxOldRevision(olds);
    if (revisionOf(rs) > max) return rs;
    return (await this.patchRS(rs, { metadata: { annotations: { ...this.carriedAnnotations(d), [REVISION]: String(max + 1) } } })) ?? rs;
  }

  private async setDeploymentRevision(d: Deployment, revision: number): Promise<void> {
    if (revisionOf(d) === revision || revision === 0) return;
    await ignoreNotFound(
      this.ctx.client.patch("deployments", d.metadata!.namespace, d.metadata!.name, {
        metadata: { annotations: { [REVISION]: String(revision) } },
      }),
    );
  }

  /** Unavailable old pods go first, then healthy ones down to the availability floor; oldest ReplicaSets first. */
  private async scaleDownOld(d: Deployment, all: ReplicaSet[], olds: ReplicaSet[], newRS: ReplicaSet): Promise<ReplicaSet[]> {
    const out = [...olds];
    const byAge = () =>
      out
        .map((rs, i) => ({ rs, i }))
        .filter(({ rs }) => replicasOf(rs) > 0)
        .sort((a, b) => revisionOf(a.rs) - revisionOf(b.rs));
    let budget = maxScaleDown(d, all, newRS);
    if (budget <= 0) return out;
    for (const { rs, i } of byAge()) {
      if (budget <= 0) break;
      const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      const n = Math.min(budget, Math.max(0, unhealthy));
      if (n > 0) {
        out[i] = await this.scale(d, rs, replicasOf(rs) - n);
        budget -= n;
      }
    }
    let healthy = Math.min(budget, availableAboveMinimum(d, [...out, newRS]));
    for (const { i } of byAge()) {
      if (healthy <= 0) break;
      const n = Math.min(healthy, replicasOf(out[i]!));
      if (n > 0) {
        out[i] = await this.scale(d, out[i]!, replicasOf(out[i]!) - n);
        healthy -= n;
      }
    }
    return out;
  }

  private async scale(d: Deployment, rs: ReplicaSet, to: number): Promise<ReplicaSet> {
    const from = replicasOf(rs);
    if (from === to) return rs;
    const updated = await this.patchRS(rs, {
      metadata: { annotations: { [DESIRED_REPLICAS]: String(d.spec?.replicas ?? 1) } },
      spec: { replicas: to },
    });
    if (!updated) return rs;
    this.ctx.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${to > from ? "up" : "down"} replica set ${rs.metadata!.name} to ${to} from ${from}`,
    );
    return updated;
  }

  private async cleanupHistory(d: Deployment, olds: ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = olds
      .filter((rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata!.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        await this.ctx.client.delete("replicasets", rs.metadata!.namespace, rs.metadata!.name, {
          preconditions: { uid: rs.metadata!.uid },
        });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
    }
  }

  private async patchRS(rs: ReplicaSet, patch: Record<string, unknown>): Promise<ReplicaSet | undefined> {
    return ignoreNotFound(this.ctx.client.patch<ReplicaSet>("replicasets", rs.metadata!.namespace, rs.metadata!.name, patch));
  }
}
