import { create } from "@bufbuild/protobuf";
import { NodeSchema, PodSchema, type Node, type Pod } from "@kubelab/api";
import { SchedulerCache } from "../cache/schedulerCache.js";
import { podRequests } from "../framework/resources.js";
import { CycleState, type FilterPlugin, type FilterResult, type NodeInfo, type ScorePlugin } from "../framework/types.js";

// Test support for the scheduler's plugins and framework, after kube-scheduler's
// pkg/scheduler/testing wrappers: nodes and pods built from a few options, the cache and NodeInfos
// a plugin sees, and one scheduling cycle's Filter or PreScore + Score run over them.

/** Resource quantities as a Node's allocatable or capacity has them: "4", "500m", "8Gi". */
export type Quantities = { cpu?: string; memory?: string; pods?: string };

/** A container's requests. */
export type Requests = { cpu?: string; memory?: string };

export type TaintSpec = { key: string; value?: string; effect: string };

export type TolerationSpec = { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number };

/** A node selector requirement, of matchExpressions or matchFields. */
export type Requirement = { key: string; operator: string; values?: string[] };

export type NodeSelectorTermSpec = { matchExpressions?: Requirement[]; matchFields?: Requirement[] };

/** cpu, memory and pods are the node's allocatable, each 4, 8Gi and 110 when not given. */
export interface NodeOptions extends Quantities {
  labels?: Record<string, string>;
  /** A taint without a value has the empty value. */
  taints?: TaintSpec[];
  unschedulable?: boolean;
  /** Given: the node's capacity, each quantity not named the default allocatable's. Not given: no capacity. */
  capacity?: Quantities;
  /** false: the Ready condition is False. */
  ready?: boolean;
  /** The node's conditions, in place of the one Ready condition `ready` makes. */
  conditions?: Array<{ type: string; status: string }>;
}

const defaultAllocatable = { cpu: "4", memory: "8Gi", pods: "110" };

export function node(name: string, opts: NodeOptions = {}): Node {
  const allocatable = {
    cpu: opts.cpu ?? defaultAllocatable.cpu,
    memory: opts.memory ?? defaultAllocatable.memory,
    pods: opts.pods ?? defaultAllocatable.pods,
  };
  return create(NodeSchema, {
    metadata: { name, labels: opts.labels ?? {} },
    spec: { taints: (opts.taints ?? []).map((t) => ({ value: "", ...t })), unschedulable: opts.unschedulable ?? false },
    status: {
      allocatable,
      capacity: opts.capacity ? { ...defaultAllocatable, ...opts.capacity } : {},
      conditions: opts.conditions ?? [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
    },
  });
}

export interface PodOptions extends Requests {
  /** One container per entry (c0, c1, …) asking for exactly those requests, in place of the container "c" of cpu and memory. */
  containers?: Requests[];
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  /** Given: required node affinity with these terms (none at all when the array is empty). */
  terms?: NodeSelectorTermSpec[];
  tolerations?: TolerationSpec[];
  /** A ReplicaSet's uid: the pod's owner reference, its controller unless `controller` is false. */
  owner?: string;
  controller?: boolean;
  /** The pod has a deletionTimestamp. */
  deleting?: boolean;
}

/** A pod in namespace default, uid `uid-<name>`; one container "c" asking for cpu and memory where given. */
export function pod(name: string, opts: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (opts.cpu) requests.cpu = opts.cpu;
  if (opts.memory) requests.memory = opts.memory;
  const containers = opts.containers
    ? opts.containers.map((r, i) => ({ name: `c${i}`, image: "i", resources: { requests: { ...r } } }))
    : [{ name: "c", image: "i", resources: { requests } }];
  return create(PodSchema, {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      deletionTimestamp: opts.deleting ? "2024-01-01T00:00:00Z" : "",
      ownerReferences: opts.owner
        ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: opts.owner, controller: opts.controller ?? true }]
        : [],
    },
    spec: {
      nodeName: opts.nodeName ?? "",
      nodeSelector: opts.nodeSelector ?? {},
      affinity: opts.terms
        ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: opts.terms } } }
        : undefined,
      tolerations: opts.tolerations ?? [],
      containers,
    },
  });
}

let named = 0;
/** p1, p2, …: a name (and so a uid) no other pod of the test file has. */
export const uniqueName = (): string => `p${++named}`;

/** The pod as bound to the node. */
export const bindTo = (p: Pod, nodeName: string): Pod => ({ ...p, spec: { ...p.spec!, nodeName } }) as Pod;

/** A cache holding the nodes, and the pods as they are (counted on the node their spec.nodeName names). */
export function cacheOf(nodes: Node[], pods: Pod[] = []): SchedulerCache {
  const cache = new SchedulerCache();
  nodes.forEach((n) => cache.setNode(n));
  pods.forEach((p) => cache.setPod(p));
  return cache;
}

/** The NodeInfos of one cache holding each node with its pods, bound to it whatever their spec.nodeName. */
export function nodeInfos(placed: Array<[Node, Pod[]]>): NodeInfo[] {
  const nodes = placed.map(([n]) => n);
  const pods = placed.flatMap(([n, ps]) => ps.map((p) => bindTo(p, n.metadata!.name)));
  return cacheOf(nodes, pods).list();
}

/** The node's NodeInfo, with these pods bound to it. */
export const nodeInfo = (n: Node, pods: Pod[] = []): NodeInfo => nodeInfos([[n, pods]])[0]!;

/** The plugin's Filter verdict for the pod on the node, in a scheduling cycle of its own. */
export const runFilter = (plugin: FilterPlugin, p: Pod, info: NodeInfo): FilterResult =>
  plugin.filter(new CycleState(podRequests(p)), p, info);

/** The plugin's Score for the pod on the node, in a scheduling cycle of its own (without PreScore). */
export const runScore = (plugin: ScorePlugin, p: Pod, info: NodeInfo): number => plugin.score(new CycleState(podRequests(p)), p, info);

/** Each node's Score for the pod, by node name, after the plugin's PreScore over all of them (the feasible nodes). */
export function runScores(plugin: ScorePlugin, p: Pod, infos: NodeInfo[]): Record<string, number> {
  const state = new CycleState(podRequests(p));
  plugin.preScore?.(state, p, infos);
  return Object.fromEntries(infos.map((n) => [n.node.metadata!.name, plugin.score(state, p, n)]));
}
