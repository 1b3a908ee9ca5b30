import { create } from "@bufbuild/protobuf";
import {
  NodeConditionSchema,
  NodeSchema,
  PodSchema,
  TAINT_NODE_NOT_READY,
  isPodReady,
  TAINT_NODE_UNREACHABLE,
  formatTime,
  objectToJson,
  toleratesTaint,
  type Lease,
  type Node,
  type Pod,
  type Taint,
} from "@kubelab/api";
import { ignoreNotFound, writeStatus, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";

export interface NodeLifecycleOptions {
  /** Seconds without a lease renewal or status heartbeat before a node is Unknown (Kubernetes: 40). */
  nodeMonitorGracePeriodSeconds: number;
  /** Seconds between checks of every node (Kubernetes: 5). */
  nodeMonitorPeriodSeconds: number;
}

/**
 * The node lifecycle controller: a node whose Lease (and status heartbeat) is older than the grace
 * period becomes Ready=Unknown; nodes not Ready get the unreachable or not-ready taints, NoSchedule
 * and NoExecute, and lose them when Ready again. The NoExecute taint evicts (deletes) the node's
 * pods once their toleration runs out (300 s by default, from the API server's admission), so
 * their controllers replace them elsewhere; when the node returns, its kubelet stops them.
 */
export class NodeLifecycleController extends QueueController {
  readonly name = "nodelifecycle";
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private monitor: NodeJS.Timeout | undefined;
  /**
   * When this controller first saw each node. Kubernetes' controller starts each node's probe time
   * at its own first observation, so a controller-manager that starts after the whole cluster was
   * stopped (leases all old) gives every node a full grace period to report before it is Unknown.
   */
  private readonly firstObservedMs = new Map<string, number>();

  constructor(
    ctx: ControllerContext,
    private readonly opts: NodeLifecycleOptions,
  ) {
    super(ctx);
    this.nodes = ctx.informers.for<Node>("nodes");
    this.leases = ctx.informers.for<Lease>("leases");
    this.pods = ctx.informers.for<Pod>("pods");
    if (!this.pods.indexer.hasIndex("nodeName")) this.pods.indexer.addIndex("nodeName", (p) => [p.spec?.nodeName ?? ""]);
    this.nodes.addEventHandler({
      onAdd: (n) => this.enqueue(n),
      onUpdate: (_, n) => this.enqueue(n),
      onDelete: (n) => this.firstObservedMs.delete(n.metadata!.name),
    });
    this.pods.addEventHandler({
      onAdd: (p) => p.spec?.nodeName && this.queue.add(p.spec.nodeName),
      onUpdate: (a, b) => b.spec?.nodeName && a.spec?.nodeName !== b.spec.nodeName && this.queue.add(b.spec.nodeName),
    });
  }

  protected allKeys(): string[] {
    return this.nodes.indexer.keys();
  }

  override run(workers: number): Promise<void> {
    this.monitor = setInterval(() => this.allKeys().forEach((k) => this.queue.add(k)), this.opts.nodeMonitorPeriodSeconds * 1000);
    return super.run(workers);
  }

  override stop(): void {
    clearInterval(this.monitor);
    super.stop();
  }

  async reconcile(name: string): Promise<void> {
    let node = this.nodes.get(name);
    if (!node) return;
    node = await this.monitorHealth(node);
    node = await this.reconcileTaints(node);
    await this.evictPods(node);
  }

  /** Ready=Unknown when neither the lease nor the status heartbeat is recent enough. */
  private async monitorHealth(node: Node): Promise<Node> {
    const ready = node.status?.conditions.find((c) => c.type === "Ready");
    const lease = this.leases.get(`kube-node-lease/${node.metadata!.name}`);
    if (!this.firstObservedMs.has(node.metadata!.name)) this.firstObservedMs.set(node.metadata!.name, Date.now());
    const lastSeen = Math.max(
      this.firstObservedMs.get(node.metadata!.name)!,
      Date.parse(lease?.spec?.renewTime ?? "") || 0,
      Date.parse(ready?.lastHeartbeatTime ?? "") || 0,
      Date.parse(node.metadata!.creationTimestamp) || 0,
    );
    const graceMs = this.opts.nodeMonitorGracePeriodSeconds * 1000;
    if (Date.now() - lastSeen <= graceMs || ready?.status === "Unknown") {
      if (ready?.status !== "Unknown") this.queue.addAfter(node.metadata!.name, Math.max(100, lastSeen + graceMs - Date.now() + 100));
      return node;
    }
    const t = formatTime();
    const unknown = create(NodeConditionSchema, {
      type: "Ready",
      status: "Unknown",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
      lastHeartbeatTime: ready?.lastHeartbeatTime ?? "",
      lastTransitionTime: t,
    });
    const status = create(NodeSchema, { status: node.status }).status!;
    status.conditions = [...status.conditions.filter((c) => c.type !== "Ready"), unknown];
    this.ctx.recorder.event(node, "Normal", "NodeNotReady", `Node ${node.metadata!.name} status is now: NodeNotReady`);
    this.ctx.log.info("node stopped posting status", { node: node.metadata!.name });
    const updated = await writeStatus(this.ctx.client, node, status);
    await this.markPodsNotReady(node.metadata!.name, t);
    return updated ?? node;
  }

  /** Kubernetes' MarkPodsNotReady: a node nobody hears from has no ready pods, so Services and ReplicaSets stop counting them. */
  private async markPodsNotReady(nodeName: string, t: string): Promise<void> {
    for (const pod of this.pods.indexer.byIndex("nodeName", nodeName)) {
      if (!pod.status || !isPodReady(pod)) continue;
      const status = create(PodSchema, { status: pod.status }).status!;
      status.conditions = status.conditions.map((c) => (c.type === "Ready" ? { ...c, status: "False", lastTransitionTime: t } : c));
      await writeStatus(this.ctx.client, pod, status);
    }
  }

  private async reconcileTaints(node: Node): Promise<Node> {
    const ready = node.status?.conditions.find((c) => c.type === "Ready")?.status;
    const wantKey = ready === "True" ? undefined : ready === "False" ? TAINT_NODE_NOT_READY : TAINT_NODE_UNREACHABLE;
    const current = node.spec?.taints ?? [];
    const ours = (t: Taint) =>
      (t.key === TAINT_NODE_UNREACHABLE || t.key === TAINT_NODE_NOT_READY) && (t.effect === "NoExecute" || t.effect === "NoSchedule");
    const keep = current.filter((t) => !ours(t) || t.key === wantKey);
    const want = [...keep];
    for (const effect of ["NoSchedule", "NoExecute"]) {
      if (wantKey && !keep.some((t) => t.key === wantKey && t.effect === effect)) {
        want.push({ $typeName: "kubelab.core.v1.Taint", key: wantKey, value: "", effect, timeAdded: formatTime() });
      }
    }
    if (want.length === current.length && want.every((t, i) => t === current[i])) return node;
    const taints = (objectToJson(create(NodeSchema, { spec: { taints: want } })).spec as { taints?: unknown } | undefined)?.taints ?? [];
    return (await ignoreNotFound(this.ctx.client.patch<Node>("nodes", "", node.metadata!.name, { spec: { taints } }))) ?? node;
  }

  /** Pods on a node with a NoExecute taint go when their toleration for it runs out (at once if none). */
  private async evictPods(node: Node): Promise<void> {
    const noExecute = (node.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
    if (noExecute.length === 0) return;
    let nextCheck = Infinity;
    for (const pod of this.pods.indexer.byIndex("nodeName", node.metadata!.name)) {
      if (pod.metadata!.deletionTimestamp) continue;
      let evictAt = -Infinity;
      let forever = true;
      for (const taint of noExecute) {
        const matching = (pod.spec?.tolerations ?? []).filter((t) => toleratesTaint(t, taint));
        if (matching.length === 0) {
          evictAt = Date.now();
          forever = false;
          break;
        }
        const secs = matching.map((t) => t.tolerationSeconds).filter((s): s is number => s !== undefined);
        if (secs.length === 0) continue; // tolerated forever
        forever = false;
        const added = Date.parse(taint.timeAdded) || Date.now();
        evictAt = Math.max(evictAt, added + Math.min(...secs) * 1000);
      }
      if (forever) continue;
      if (evictAt <= Date.now()) {
        this.ctx.recorder.event(
          pod,
          "Normal",
          "TaintManagerEviction",
          `Marking for deletion Pod ${pod.metadata!.namespace}/${pod.metadata!.name}`,
        );
        await ignoreNotFound(
          this.ctx.client.delete("pods", pod.metadata!.namespace, pod.metadata!.name, { preconditions: { uid: pod.metadata!.uid } }),
        );
      } else {
        nextCheck = Math.min(nextCheck, evictAt);
      }
    }
    if (nextCheck !== Infinity) this.queue.addAfter(node.metadata!.name, Math.max(50, nextCheck - Date.now()));
  }
}
