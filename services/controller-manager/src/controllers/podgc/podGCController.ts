import { toJson } from "@bufbuild/protobuf";
import { PodConditionSchema, formatTime, type Node, type Pod } from "@kubelab/api";
import { ignoreNotFound, isNotFound, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";
import { podsToCollect } from "./orphans.js";

export interface PodGCOptions {
  /** How often the pods are looked over (Kubernetes: gcCheckPeriod, 20 s). */
  checkPeriodSeconds: number;
  /** How long a node must be gone before its pods are collected (Kubernetes: 40 s). */
  orphanQuarantineSeconds: number;
}

/** The one key of the collector's queue: each pass looks at every pod. */
const PASS = "pass";

/**
 * Kubernetes' pod garbage collector, its orphan and unscheduled-terminating passes: pods bound to
 * a node that no longer exists are marked Failed (the DisruptionTarget condition, reason
 * DeletionByPodGC) and deleted at once, so their controllers replace them; pods being deleted that
 * never had a node are deleted at once.
 */
export class PodGCController extends QueueController {
  readonly name = "podgc";
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly nodeGoneSinceMs = new Map<string, number>();

  constructor(
    ctx: ControllerContext,
    private readonly opts: PodGCOptions,
  ) {
    super(ctx);
    this.pods = ctx.informers.for<Pod>("pods");
    this.nodes = ctx.informers.for<Node>("nodes");
  }

  protected allKeys(): string[] {
    return [PASS];
  }

  override run(workers: number): Promise<void> {
    return super.run(workers, this.opts.checkPeriodSeconds * 1000);
  }

  async reconcile(): Promise<void> {
    const { orphaned, unscheduledTerminating } = podsToCollect(
      this.pods.indexer.list(),
      (name) => this.nodes.get(name) !== undefined,
      this.nodeGoneSinceMs,
      Date.now(),
      this.opts.orphanQuarantineSeconds * 1000,
    );
    const checked = new Map<string, boolean>();
    for (const p of orphaned) {
      const node = p.spec!.nodeName;
      // The cache may lag: the node's absence is checked with the API server once per pass.
      if (!checked.has(node)) checked.set(node, await this.nodeIsGone(node));
      if (!checked.get(node)) continue;
      this.ctx.log.warn("podgc: deleting a pod whose node is gone", { pod: `${p.metadata!.namespace}/${p.metadata!.name}`, node });
      await this.markFailed(p, "PodGC: node no longer exists");
      await ignoreNotFound(this.ctx.client.delete("pods", p.metadata!.namespace, p.metadata!.name, { gracePeriodSeconds: 0 }));
    }
    for (const p of unscheduledTerminating)
      await ignoreNotFound(this.ctx.client.delete("pods", p.metadata!.namespace, p.metadata!.name, { gracePeriodSeconds: 0 }));
  }

  private async nodeIsGone(name: string): Promise<boolean> {
    try {
      await this.ctx.client.get<Node>("nodes", "", name);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  }

  /** Kubernetes' markFailedAndDeletePod: a pod not finished yet is Failed, with why, before it goes. */
  private async markFailed(p: Pod, message: string): Promise<void> {
    if (p.status?.phase === "Succeeded" || p.status?.phase === "Failed") return;
    const now = formatTime();
    await ignoreNotFound(
      this.ctx.client.patch<Pod>(
        "pods",
        p.metadata!.namespace,
        p.metadata!.name,
        {
          status: {
            phase: "Failed",
            conditions: [
              ...(p.status?.conditions ?? []).filter((c) => c.type !== "DisruptionTarget").map((c) => toJson(PodConditionSchema, c)),
              { type: "DisruptionTarget", status: "True", reason: "DeletionByPodGC", message, lastTransitionTime: now },
            ],
          },
        },
        "status",
      ),
    ).catch((e: unknown) => this.ctx.log.warn("podgc: could not mark a pod Failed", { pod: p.metadata!.name, error: e }));
  }
}
