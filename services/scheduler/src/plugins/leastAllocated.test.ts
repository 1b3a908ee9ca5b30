import { describe, expect, it } from "vitest";
import type { Pod } from "@kubelab/api";
import type { NodeInfo } from "../framework/types.js";
import { node, nodeInfo as infoOf, pod as podNamed, runScore, uniqueName, type Requests } from "../testing/factories.js";
import { leastAllocated } from "./leastAllocated.js";

/** A pod with one container per entry of `containers`, each asking for those requests. */
const pod = (containers: Requests[]): Pod => podNamed(uniqueName(), { containers });

const score = (p: Pod, info: NodeInfo): number => runScore(leastAllocated, p, info);

const big = { cpu: "4", memory: "8Gi" };

// (free cpu fraction + free memory fraction) / 2 × 100, counting the pod being placed.
const cases: Array<{ name: string; pod: Pod; node: NodeInfo; want: number }> = [
  {
    name: "a pod taking a quarter of an empty node's cpu and memory leaves 75",
    pod: pod([{ cpu: "1", memory: "2Gi" }]),
    node: infoOf(node("a", big)),
    want: 75,
  },
  {
    name: "cpu and memory weigh the same: 75 free cpu and 25 free memory score 50",
    pod: pod([{ cpu: "1", memory: "6Gi" }]),
    node: infoOf(node("a", big)),
    want: 50,
  },
  {
    name: "the requests of the node's pods count",
    pod: pod([{ cpu: "1", memory: "2Gi" }]),
    node: infoOf(node("a", big), [pod([{ cpu: "2", memory: "4Gi" }])]),
    want: 25,
  },
  { name: "a pod filling the node scores 0", pod: pod([{ cpu: "4", memory: "8Gi" }]), node: infoOf(node("a", big)), want: 0 },
  {
    name: "requests beyond allocatable score 0 for that resource, not less",
    pod: pod([{ cpu: "8", memory: "4Gi" }]),
    node: infoOf(node("a", big)),
    want: 25,
  },
  {
    name: "a pod without requests is scored as asking for 100m cpu and 200 MB",
    pod: pod([{}]),
    node: infoOf(node("a", { cpu: "1", memory: "1000Mi" })),
    want: 85,
  },
  {
    name: "a pod asking only for cpu is scored as asking for 200 MB of memory",
    pod: pod([{ cpu: "500m" }]),
    node: infoOf(node("a", { cpu: "1", memory: "1000Mi" })),
    want: 65,
  },
];

describe("NodeResourcesLeastAllocated score", () => {
  it.each(cases)("$name", ({ pod, node, want }) => {
    expect(score(pod, node)).toBe(want);
  });

  it("prefers the node with the most room left", () => {
    const p = pod([{ cpu: "500m", memory: "1Gi" }]);
    const empty = infoOf(node("empty", big));
    const half = infoOf(node("half", big), [pod([{ cpu: "2", memory: "4Gi" }])]);
    const small = infoOf(node("small", { cpu: "1", memory: "1Gi" }));
    const scores = [empty, half, small].map((n) => score(p, n));
    expect(scores[0]).toBeGreaterThan(scores[1]!);
    expect(scores[1]).toBeGreaterThan(scores[2]!);
  });

  // kube-scheduler's leastRequestedScore is integer arithmetic: ((capacity - requested) × 100) / capacity
  // per resource, then the weighted sum / weightSum, each division truncating; the plugin rounds.
  it.fails("truncates as kube-scheduler's integer arithmetic does: a third used scores 66, not 67", () => {
    expect(score(pod([{ cpu: "1", memory: "1Gi" }]), infoOf(node("a", { cpu: "3", memory: "3Gi" })))).toBe(66);
  });

  // kube-scheduler adds the pod to the node's NonZeroRequested: pods already on the node without
  // requests count 100m cpu and 200 MB there too (resource_allocation.go, useRequested false).
  it.fails("counts pods already on the node without requests as 100m cpu and 200 MB, as NonZeroRequested does", () => {
    const info = infoOf(node("a", { cpu: "1", memory: "1000Mi" }), [pod([{}])]);
    // cpu (100 + 100) / 1000 → 80, memory (200 + 200) / 1000 → 60.
    expect(score(pod([{ cpu: "100m", memory: "200Mi" }]), info)).toBe(70);
  });
});
