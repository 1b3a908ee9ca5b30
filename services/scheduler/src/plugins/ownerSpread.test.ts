import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema, type Node, type Pod } from "@kubelab/api";
import { node, nodeInfos, pod, runScores } from "../testing/factories.js";
import { controllerUid, ownerSpread } from "./ownerSpread.js";

/** Every node's score for the pod, after PreScore over all of them (the feasible nodes). */
const scores = (p: Pod, nodes: Record<string, Pod[]>): Record<string, number> =>
  runScores(ownerSpread, p, nodeInfos(Object.entries(nodes).map(([name, pods]): [Node, Pod[]] => [node(name), pods])));

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
