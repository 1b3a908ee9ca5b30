import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema, type Node, type Pod } from "@kubelab/api";
import { fits, unfit, type FilterResult } from "../framework/types.js";
import {
  node as nodeNamed,
  nodeInfo,
  pod as podNamed,
  runFilter,
  uniqueName,
  type Quantities,
  type Requests,
} from "../testing/factories.js";
import { nodeResourcesFit } from "./nodeResourcesFit.js";

/** A node with these allocatable quantities (and, when given, a larger capacity) and these pods bound to it. */
const node = (allocatable: Quantities, pods: Pod[] = [], capacity?: Quantities): { node: Node; pods: Pod[] } => ({
  node: nodeNamed("n", { ...allocatable, capacity }),
  pods,
});

const pod = (requests: Requests = {}, nodeName = ""): Pod => podNamed(uniqueName(), { ...requests, nodeName });
const on = (requests: { cpu?: string; memory?: string }) => pod(requests, "n");

const filter = (p: Pod, n: { node: Node; pods: Pod[] }): FilterResult => runFilter(nodeResourcesFit, p, nodeInfo(n.node, n.pods));

const cases: Array<{ name: string; pod: Pod; node: { node: Node; pods: Pod[] }; want: FilterResult }> = [
  {
    name: "a pod that fits in what the node's pods leave fits",
    pod: pod({ cpu: "1", memory: "1Gi" }),
    node: node({}, [on({ cpu: "2", memory: "4Gi" })]),
    want: fits,
  },
  {
    name: "asking for exactly what is left fits",
    pod: pod({ cpu: "1500m", memory: "3Gi" }),
    node: node({ cpu: "2", memory: "4Gi" }, [on({ cpu: "500m", memory: "1Gi" })]),
    want: fits,
  },
  {
    name: "more cpu than is left: Insufficient cpu",
    pod: pod({ cpu: "1501m" }),
    node: node({ cpu: "2" }, [on({ cpu: "500m" })]),
    want: unfit("Insufficient cpu"),
  },
  {
    name: "more memory than is left: Insufficient memory",
    pod: pod({ memory: "3Gi" }),
    node: node({ memory: "4Gi" }, [on({ memory: "1025Mi" })]),
    want: unfit("Insufficient memory"),
  },
  { name: "no pod slot left: Too many pods", pod: pod(), node: node({ pods: "2" }, [on({}), on({})]), want: unfit("Too many pods") },
  { name: "the last pod slot is free", pod: pod(), node: node({ pods: "3" }, [on({}), on({})]), want: fits },
  { name: "a node that allows no pods takes none", pod: pod(), node: node({ pods: "0" }), want: unfit("Too many pods") },
  {
    name: "every shortage is a reason: pods, then cpu, then memory",
    pod: pod({ cpu: "4", memory: "8Gi" }),
    node: node({ pods: "1" }, [on({ cpu: "1", memory: "1Gi" })]),
    want: unfit("Too many pods", "Insufficient cpu", "Insufficient memory"),
  },
  {
    name: "a pod without requests fits an overcommitted node: only its pod slot counts",
    pod: pod(),
    node: node({ cpu: "1", memory: "1Gi" }, [on({ cpu: "2", memory: "2Gi" })]),
    want: fits,
  },
  {
    name: "a pod asking only for memory is not refused for an overcommitted cpu",
    pod: pod({ memory: "1Gi" }),
    node: node({ cpu: "1" }, [on({ cpu: "2" })]),
    want: fits,
  },
  {
    name: "allocatable, not capacity, is what pods may use",
    pod: pod({ cpu: "3" }),
    node: node({ cpu: "2" }, [], { cpu: "4" }),
    want: unfit("Insufficient cpu"),
  },
  {
    name: "a container's limit without a request counts as its request",
    pod: create(PodSchema, {
      metadata: { name: "lim", uid: "uid-lim" },
      spec: { containers: [{ name: "c", image: "i", resources: { limits: { cpu: "3" } } }] },
    }),
    node: node({ cpu: "2" }),
    want: unfit("Insufficient cpu"),
  },
];

describe("NodeResourcesFit filter", () => {
  it.each(cases)("$name", ({ pod, node, want }) => {
    expect(filter(pod, node)).toEqual(want);
  });
});
