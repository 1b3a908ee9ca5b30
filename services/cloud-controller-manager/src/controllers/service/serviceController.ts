import { create, equals } from "@bufbuild/protobuf";
import {
  LOAD_BALANCER_CLEANUP_FINALIZER,
  LoadBalancerStatusSchema,
  isNodeReady,
  type LoadBalancerStatus,
  type Node,
  type Service,
} from "@kubelab/api";
import { ignoreNotFound, objectKey, QueueController, writeStatus, type ControllerContext, type Informer } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { LoadBalancerProvider } from "../../cloudProvider.js";
import { loadBalancerNodes, nodeAddress } from "../../loopback/targets.js";
import { hasCleanupFinalizer, isOfInterest, planLoadBalancer, wantsLoadBalancer } from "./plan.js";

export interface ServiceControllerOptions {
  /** The loadBalancerClass served besides none. */
  loadBalancerClass: string;
}

/** The nodes as a load balancer sees them; a change here is worth an update of every load balancer. */
const nodesSignature = (nodes: readonly Node[]) => nodes.map((n) => `${n.metadata!.name}/${nodeAddress(n)}/${isNodeReady(n)}`).join(",");

/**
 * Kubernetes' service controller (k8s.io/cloud-provider/controllers/service): for every Service
 * of type LoadBalancer it serves, the finalizer first, then the cloud's load balancer, then
 * status.loadBalancer; for a Service deleted or no longer a LoadBalancer, the load balancer
 * deleted, then the finalizer removed. Events as Kubernetes words them: EnsuringLoadBalancer,
 * EnsuredLoadBalancer, DeletingLoadBalancer, DeletedLoadBalancer, SyncLoadBalancerFailed,
 * UpdatedLoadBalancer. When the nodes change, every load balancer gets the new set.
 */
export class ServiceController extends QueueController<ControllerContext<Logger>> {
  readonly name = "service";
  private readonly services: Informer<Service>;
  private readonly nodes: Informer<Node>;
  /** The Service as last ensured, by key: what a deletion is cleaned up from. */
  private readonly served = new Map<string, Service>();
  private lastNodes = "";
  private nodeSync: Promise<void> | undefined;
  private nodeSyncAgain = false;

  constructor(
    ctx: ControllerContext<Logger>,
    private readonly cloud: LoadBalancerProvider,
    private readonly opts: ServiceControllerOptions,
  ) {
    super(ctx);
    this.services = ctx.informers.for<Service>("services");
    this.nodes = ctx.informers.for<Node>("nodes");
    const interesting = (s: Service) => isOfInterest(s, opts.loadBalancerClass) || this.served.has(objectKey(s));
    this.services.addEventHandler({
      onAdd: (s) => interesting(s) && this.enqueue(s),
      onUpdate: (old, s) => (interesting(s) || interesting(old)) && this.enqueue(s),
      onDelete: (s) => interesting(s) && this.enqueue(s),
    });
    const nodesChanged = () => this.syncNodes();
    this.nodes.addEventHandler({ onAdd: nodesChanged, onUpdate: nodesChanged, onDelete: nodesChanged });
  }

  protected allKeys(): string[] {
    const keys = new Set(
      this.services
        .list()
        .filter((s) => isOfInterest(s, this.opts.loadBalancerClass))
        .map(objectKey),
    );
    for (const k of this.served.keys()) keys.add(k);
    return [...keys];
  }

  private lbNodes(): Node[] {
    return loadBalancerNodes(this.nodes.list());
  }

  /** One Service key: plan (plan.ts), then carry the plan out. */
  async reconcile(key: string): Promise<void> {
    const current = this.services.get(key);
    const served = this.served.get(key);
    const exists = current ? this.cloud.getLoadBalancer(current).exists : !!served;
    const plan = planLoadBalancer(current, served, exists, this.opts.loadBalancerClass);
    switch (plan.op) {
      case "none":
        return;
      case "deleteGone":
        return this.deleteGone(key, served ?? current!);
      case "cleanup":
        return this.cleanup(current!, exists);
      case "ensure":
        return this.ensure(current!, plan.changed);
    }
  }

  private event(svc: Service, type: "Normal" | "Warning", reason: string, message: string): void {
    this.ctx.recorder.event(svc, type, reason, message);
  }

  private async ensure(svc: Service, changed: boolean): Promise<void> {
    const key = objectKey(svc);
    if (changed) this.event(svc, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer");
    // The finalizer before the load balancer, so the Service cannot go without its load balancer going first.
    if (!hasCleanupFinalizer(svc)) {
      await this.patchFinalizers(svc, [...svc.metadata!.finalizers, LOAD_BALANCER_CLEANUP_FINALIZER]);
    }
    let status: LoadBalancerStatus;
    try {
      status = await this.cloud.ensureLoadBalancer(svc, this.lbNodes());
    } catch (e) {
      this.event(svc, "Warning", "SyncLoadBalancerFailed", `Error syncing load balancer: failed to ensure load balancer: ${errorText(e)}`);
      throw e;
    }
    this.served.set(key, svc);
    if (changed) this.event(svc, "Normal", "EnsuredLoadBalancer", "Ensured load balancer");
    await this.patchStatus(svc, status);
  }

  private async cleanup(svc: Service, exists: boolean): Promise<void> {
    const key = objectKey(svc);
    if (exists) {
      this.event(svc, "Normal", "DeletingLoadBalancer", "Deleting load balancer");
      try {
        await this.cloud.ensureLoadBalancerDeleted(svc);
      } catch (e) {
        this.event(
          svc,
          "Warning",
          "SyncLoadBalancerFailed",
          `Error syncing load balancer: failed to delete load balancer: ${errorText(e)}`,
        );
        throw e;
      }
    }
    this.served.delete(key);
    // The finalizer goes only once the load balancer has.
    if (hasCleanupFinalizer(svc)) {
      await this.patchFinalizers(
        svc,
        svc.metadata!.finalizers.filter((f) => f !== LOAD_BALANCER_CLEANUP_FINALIZER),
      );
    }
    if (exists || hasCleanupFinalizer(svc)) this.event(svc, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
    if (!svc.metadata?.deletionTimestamp) await this.patchStatus(svc, create(LoadBalancerStatusSchema, {}));
  }

  private async deleteGone(key: string, svc: Service): Promise<void> {
    if (!wantsLoadBalancer(svc, this.opts.loadBalancerClass) && !this.cloud.getLoadBalancer(svc).exists) {
      this.served.delete(key);
      return;
    }
    this.event(svc, "Normal", "DeletingLoadBalancer", "Deleting load balancer");
    try {
      await this.cloud.ensureLoadBalancerDeleted(svc);
    } catch (e) {
      this.event(svc, "Warning", "DeleteLoadBalancerFailed", `Error deleting load balancer: ${errorText(e)}`);
      throw e;
    }
    this.served.delete(key);
    this.event(svc, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
  }

  /** A merge patch of the finalizers, pinned to the version read: a conflict is retried by the queue. */
  private async patchFinalizers(svc: Service, finalizers: string[]): Promise<void> {
    const m = svc.metadata!;
    await ignoreNotFound(
      this.ctx.client.patch<Service>("services", m.namespace, m.name, { metadata: { finalizers, resourceVersion: m.resourceVersion } }),
    );
  }

  /** Writes status.loadBalancer when it differs from what the Service shows. */
  private async patchStatus(svc: Service, lb: LoadBalancerStatus): Promise<void> {
    const before = svc.status?.loadBalancer ?? create(LoadBalancerStatusSchema, {});
    if (equals(LoadBalancerStatusSchema, before, lb)) return;
    await writeStatus(this.ctx.client, svc, { ...(svc.status ?? { $typeName: "kubelab.core.v1.ServiceStatus" }), loadBalancer: lb });
  }

  /**
   * Kubernetes' nodeSyncLoop: when the nodes a load balancer may use change (added, removed,
   * readiness, address), every load balancer served gets the new set, one pass at a time.
   */
  private syncNodes(): void {
    if (this.nodeSync) {
      this.nodeSyncAgain = true;
      return;
    }
    this.nodeSync = (async () => {
      do {
        this.nodeSyncAgain = false;
        const nodes = this.lbNodes();
        const sig = nodesSignature(nodes);
        if (sig === this.lastNodes) continue;
        this.lastNodes = sig;
        for (const [key, svc] of this.served) {
          const current = this.services.get(key) ?? svc;
          try {
            await this.cloud.updateLoadBalancer(current, nodes);
            this.event(current, "Normal", "UpdatedLoadBalancer", "Updated load balancer with new hosts");
          } catch (e) {
            this.event(
              current,
              "Warning",
              "UpdateLoadBalancerFailed",
              `Error updating load balancer with new hosts ${nodes.map((n) => n.metadata!.name).join(", ")}: ${errorText(e)}`,
            );
          }
        }
      } while (this.nodeSyncAgain);
    })().finally(() => (this.nodeSync = undefined));
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
