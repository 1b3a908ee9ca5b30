import type { Node } from "@kubelab/api";
import { ignoreNotFound, QueueController, type ControllerContext, type Informer } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { InstancesProvider } from "../../cloudProvider.js";
import { nodeLifecycleAction, SHUTDOWN_TAINT } from "./decision.js";

/**
 * Kubernetes' cloud node lifecycle controller: every monitor period, each node's machine is
 * looked up in the cloud; a node whose machine is gone is deleted (its pods are then the pod
 * garbage collector's), one whose machine is shut down is tainted so nothing new lands there.
 */
export class CloudNodeLifecycleController extends QueueController<ControllerContext<Logger>> {
  readonly name = "cloud-node-lifecycle";
  private readonly nodes: Informer<Node>;

  constructor(
    ctx: ControllerContext<Logger>,
    private readonly instances: InstancesProvider,
    private readonly monitorPeriodMs: number,
  ) {
    super(ctx);
    this.nodes = ctx.informers.for<Node>("nodes");
    this.nodes.addEventHandler({ onAdd: (n) => this.enqueue(n), onUpdate: (_, n) => this.enqueue(n) });
  }

  protected allKeys(): string[] {
    return this.nodes.indexer.keys();
  }

  // The cloud is polled: machines come and go without an event in the API.
  override run(workers: number): Promise<void> {
    return super.run(workers, this.monitorPeriodMs);
  }

  async reconcile(key: string): Promise<void> {
    const node = this.nodes.get(key);
    if (!node || node.metadata!.deletionTimestamp) return;
    const name = node.metadata!.name;
    const action = nodeLifecycleAction(node, await this.instances.instanceState(node.spec?.providerId ?? ""));
    if (action === "delete") {
      // Kubernetes' wording (cloud-provider's nodelifecycle controller).
      this.ctx.recorder.event(node, "Normal", "DeletingNode", `Deleting node ${name} because it does not exist in the cloud provider`);
      this.ctx.log.info("deleting a node whose machine is gone", { node: name, providerID: node.spec?.providerId });
      await ignoreNotFound(this.ctx.client.delete("nodes", "", name));
    } else if (action === "taintShutdown" || action === "untaintShutdown") {
      const others = (node.spec?.taints ?? []).filter((t) => t.key !== SHUTDOWN_TAINT.key);
      const taints = action === "taintShutdown" ? [...others, SHUTDOWN_TAINT] : others;
      await ignoreNotFound(
        this.ctx.client.patch<Node>("nodes", "", name, {
          metadata: { resourceVersion: node.metadata!.resourceVersion },
          spec: {
            taints: taints.map((t) => ({
              key: t.key,
              ...(t.value && { value: t.value }),
              effect: t.effect,
              ...(t.timeAdded && { timeAdded: t.timeAdded }),
            })),
          },
        }),
      );
    }
  }
}
