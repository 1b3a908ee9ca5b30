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

/**
 * kube-scheduler's CycleState: what one scheduling cycle of one pod computes once and shares —
 * the pod's requests for every plugin, and each plugin's own data under its name (written in its
 * PreScore, read in its Score).
 */
export class CycleState {
  private readonly data = new Map<string, unknown>();

  constructor(readonly podRequests: Resources) {}

  write(plugin: string, value: unknown): void {
    this.data.set(plugin, value);
  }

  read<T>(plugin: string): T | undefined {
    return this.data.get(plugin) as T | undefined;
  }
}

/**
 * kube-scheduler's PreFilter and Filter extension points: preFilter, once per cycle, may find the
 * pod unschedulable on every node (UnschedulableAndUnresolvable: a claim that does not exist) and
 * keep what filter needs in the state; filter asks: may this node run the pod?
 */
export interface FilterPlugin {
  readonly name: string;
  preFilter?(state: CycleState, pod: Pod): FilterResult;
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
