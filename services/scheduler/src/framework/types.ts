import type { Node, Pod } from "@kubelab/api";
import type { Resources } from "./resources.js";

/** A node as the scheduler sees it: the Node, and what its pods (bound or assumed) ask for. */
export interface NodeInfo {
  node: Node;
  pods: Pod[];
  requested: Resources;
  allocatable: Resources;
}

/** A filter's verdict: success, or the reasons this node cannot take the pod. */
export type FilterResult = { ok: true } | { ok: false; reasons: string[] };

export const fits: FilterResult = { ok: true };
export const unfit = (...reasons: string[]): FilterResult => ({ ok: false, reasons });

/** Computed once per pod per scheduling cycle and shared by plugins (kube-scheduler's CycleState). */
export interface CycleState {
  podRequests: Resources;
  /** Pods per node with the same controller as the pod being scheduled (for spreading). */
  ownerCounts?: Map<string, number>;
}

/** kube-scheduler's Filter extension point: may this node run the pod? */
export interface FilterPlugin {
  readonly name: string;
  filter(state: CycleState, pod: Pod, node: NodeInfo): FilterResult;
}

/** kube-scheduler's PreScore + Score: how good is this node, 0 (worst) to 100 (best). */
export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  preScore?(state: CycleState, pod: Pod, nodes: NodeInfo[]): void;
  score(state: CycleState, pod: Pod, node: NodeInfo): number;
}

export const MAX_NODE_SCORE = 100;
