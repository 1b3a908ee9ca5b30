import { isPodTerminal } from "@kubelab/api";
import type { Node, Pod } from "@kubelab/api";
import { add, nodeAllocatable, podRequests, zero } from "../framework/resources.js";
import type { NodeInfo } from "../framework/types.js";

/**
 * Nodes and the pods placed on them, including pods the scheduler has "assumed" onto a node
 * before the API server confirmed the binding (kube-scheduler's assume/forget), so that
 * back-to-back decisions see each other's resource use without waiting for a round trip.
 */
export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  /** pod uid → node name, for every pod counted on a node. */
  private readonly placed = new Map<string, { node: string; pod: Pod }>();
  private readonly assumed = new Set<string>();

  private infoFor(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  setNode(node: Node): void {
    const name = node.metadata!.name;
    const cur = this.nodes.get(name);
    if (cur) {
      cur.node = node;
      cur.allocatable = nodeAllocatable(node);
      return;
    }
    const info: NodeInfo = { node, pods: [], requested: zero(), allocatable: nodeAllocatable(node) };
    this.nodes.set(name, info);
    for (const { node: n, pod } of this.placed.values()) if (n === name) this.account(info, pod, 1);
  }

  removeNode(name: string): void {
    this.nodes.delete(name);
  }

  private account(info: NodeInfo, pod: Pod, sign: 1 | -1) {
    add(info.requested, podRequests(pod), sign);
    if (sign > 0) info.pods.push(pod);
    else info.pods = info.pods.filter((p) => p.metadata!.uid !== pod.metadata!.uid);
  }

  /** A pod as the API server has it: counted on its node while it is bound and not finished. */
  setPod(pod: Pod): void {
    const uid = pod.metadata!.uid;
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || isPodTerminal(pod)) {
      if (!this.assumed.has(uid) || nodeName) this.removePod(uid);
      return;
    }
    this.assumed.delete(uid);
    this.place(uid, nodeName, pod);
  }

  removePod(uid: string): void {
    const cur = this.placed.get(uid);
    if (!cur) return;
    this.placed.delete(uid);
    this.assumed.delete(uid);
    const info = this.infoFor(cur.node);
    if (info) this.account(info, cur.pod, -1);
  }

  /** Counts the pod on the node before its binding is confirmed. */
  assume(pod: Pod, nodeName: string): void {
    const assumedPod = { ...pod, spec: { ...pod.spec!, nodeName } } as Pod;
    this.assumed.add(pod.metadata!.uid);
    this.place(pod.metadata!.uid, nodeName, assumedPod);
  }

  /** The binding failed: the pod no longer counts on that node. */
  forget(uid: string): void {
    if (this.assumed.has(uid)) this.removePod(uid);
  }

  private place(uid: string, nodeName: string, pod: Pod) {
    const cur = this.placed.get(uid);
    if (cur) {
      const old = this.infoFor(cur.node);
      if (old) this.account(old, cur.pod, -1);
    }
    this.placed.set(uid, { node: nodeName, pod });
    const info = this.infoFor(nodeName);
    if (info) this.account(info, pod, 1);
  }

  list(): NodeInfo[] {
    return [...this.nodes.values()];
  }

  get nodeCount(): number {
    return this.nodes.size;
  }
}
