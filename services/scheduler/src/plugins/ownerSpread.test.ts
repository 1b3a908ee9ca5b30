import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, PodSchema, type Node, type Pod } from "@kubelab/api";
import { SchedulerCache } from "../cache/schedulerCache.js";
import { podRequests } from "../framework/resources.js";
import { CycleState } from "../framework/types.js";
import { controllerUid, ownerSpread } from "./ownerSpread.js";

function node(name: string): Node {
  return create(NodeSchema, {
    metadata: { name },
    status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
  });
}

/** A pod controlled by `owner` (a ReplicaSet's uid), or with `owner` as a plain, non-controller reference. */
function pod(name: string, opts: { owner?: string; controller?: boolean; nodeName?: string; deleting?: boolean } = {}): Pod {
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
    spec: { nodeName: opts.nodeName ?? "", containers: [{ name: "c", image: "i" }] },
  });
}

/** Every node's score for the pod, after PreScore over all of them (the feasible nodes). */
function scores(p: Pod, nodes: Record<string, Pod[]>): Record<string, number> {
  const cache = new SchedulerCache();
  for (const [name, pods] of Object.entries(nodes)) {
    cache.setNode(node(name));
    pods.forEach((x) => cache.setPod({ ...x, spec: { ...x.spec!, nodeName: name } } as Pod));
  }
  const infos = cache.list();
  const state = new CycleState(podRequests(p));
  ownerSpread.preScore!(state, p, infos);
  return Object.fromEntries(infos.map((n) => [n.node.metadata!.name, ownerSpread.score(state, p, n)]));
}

const sibling = (name: string) => pod(name, { owner: "rs-1" });

const cases: Array<{ name: string; pod: Pod; nodes: Record<string, Pod[]>; want: Record<string, number> }> = [
  {
    name: "a pod without a controller scores every node 100",
    pod: pod("p"),
    nodes: { a: [sibling("s1")], b: [] },
    want: { a: 100, b: 100 },
  },
  {
    name: "an owner reference that is not the controller does not make siblings",
    pod: pod("p", { owner: "rs-1", controller: false }),
    nodes: { a: [sibling("s1")], b: [] },
    want: { a: 100, b: 100 },
  },
  {
    name: "no sibling on any node: every node scores 100",
    pod: sibling("p"),
    nodes: { a: [pod("other")], b: [] },
    want: { a: 100, b: 100 },
  },
  {
    name: "the fewer siblings a node has, the higher it scores: 0, 1, 2 siblings score 100, 50, 0",
    pod: sibling("p"),
    nodes: { a: [], b: [sibling("s1")], c: [sibling("s2"), sibling("s3")] },
    want: { a: 100, b: 50, c: 0 },
  },
  {
    name: "siblings spread evenly score every node alike",
    pod: sibling("p"),
    nodes: { a: [sibling("s1")], b: [sibling("s2")] },
    want: { a: 0, b: 0 },
  },
  {
    name: "pods of another controller do not count",
    pod: sibling("p"),
    nodes: { a: [pod("x1", { owner: "rs-2" }), pod("x2", { owner: "rs-2" })], b: [sibling("s1")] },
    want: { a: 100, b: 0 },
  },
  {
    name: "the pod itself, already counted on a node (assumed), is not its own sibling",
    pod: sibling("p"),
    nodes: { a: [sibling("p")], b: [sibling("s1")] },
    want: { a: 100, b: 0 },
  },
];

describe("OwnerSpread score", () => {
  it.each(cases)("$name", ({ pod, nodes, want }) => {
    expect(scores(pod, nodes)).toEqual(want);
  });

  it("takes the controller's uid, not another owner's", () => {
    const p = create(PodSchema, {
      metadata: {
        ownerReferences: [
          { kind: "Deployment", uid: "plain" },
          { kind: "ReplicaSet", uid: "ctrl", controller: true },
        ],
      },
    });
    expect(controllerUid(p)).toBe("ctrl");
    expect(controllerUid(pod("none"))).toBeUndefined();
  });

  // kube-scheduler skips terminating pods when it counts pods for spreading (PodTopologySpread's
  // countPodsMatchSelector, and SelectorSpread before it: "Bypass terminating Pod").
  it.fails("a sibling being deleted does not count", () => {
    expect(scores(sibling("p"), { a: [pod("old", { owner: "rs-1", deleting: true })], b: [] })).toEqual({ a: 100, b: 100 });
  });
});
