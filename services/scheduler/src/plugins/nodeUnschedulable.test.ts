import { CycleState } from "../framework/types.js";
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, PodSchema, type Node, type Pod } from "@kubelab/api";
import { SchedulerCache } from "../cache/schedulerCache.js";
import { fits, unfit, type FilterResult } from "../framework/types.js";
import { podRequests } from "../framework/resources.js";
import { nodeUnschedulable } from "./nodeUnschedulable.js";

type TolerationSpec = { key?: string; operator?: string; value?: string; effect?: string };

function node(unschedulable: boolean): Node {
  return create(NodeSchema, {
    metadata: { name: "n" },
    spec: { unschedulable },
    status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
  });
}

function pod(tolerations: TolerationSpec[] = []): Pod {
  return create(PodSchema, {
    metadata: { name: "p", namespace: "default", uid: "uid-p" },
    spec: { tolerations, containers: [{ name: "c", image: "i" }] },
  });
}

function filter(p: Pod, n: Node): FilterResult {
  const cache = new SchedulerCache();
  cache.setNode(n);
  return nodeUnschedulable.filter(new CycleState(podRequests(p)), p, cache.list()[0]!);
}

const cordoned = unfit("node(s) were unschedulable");

const cases: Array<{ name: string; pod: Pod; node: Node; want: FilterResult }> = [
  { name: "a node that is not cordoned takes the pod", pod: pod(), node: node(false), want: fits },
  { name: "a cordoned node keeps off a pod that does not tolerate the unschedulable taint", pod: pod(), node: node(true), want: cordoned },
  {
    name: "a pod tolerating node.kubernetes.io/unschedulable:NoSchedule goes on a cordoned node",
    pod: pod([{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }]),
    node: node(true),
    want: fits,
  },
  {
    name: "a toleration of that key for every effect is enough",
    pod: pod([{ key: "node.kubernetes.io/unschedulable", operator: "Exists" }]),
    node: node(true),
    want: fits,
  },
  {
    name: "an Equal toleration with the taint's empty value is enough",
    pod: pod([{ key: "node.kubernetes.io/unschedulable", operator: "Equal", value: "" }]),
    node: node(true),
    want: fits,
  },
  { name: "a pod tolerating every taint goes on a cordoned node", pod: pod([{ operator: "Exists" }]), node: node(true), want: fits },
  {
    name: "a NoExecute toleration of that key does not tolerate the NoSchedule taint",
    pod: pod([{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }]),
    node: node(true),
    want: cordoned,
  },
  {
    name: "an Equal toleration with a value does not tolerate the taint's empty value",
    pod: pod([{ key: "node.kubernetes.io/unschedulable", operator: "Equal", value: "true" }]),
    node: node(true),
    want: cordoned,
  },
  {
    name: "tolerations of other keys do not help",
    pod: pod([{ key: "node.kubernetes.io/not-ready", operator: "Exists" }]),
    node: node(true),
    want: cordoned,
  },
];

describe("NodeUnschedulable filter", () => {
  it.each(cases)("$name", ({ pod, node, want }) => {
    expect(filter(pod, node)).toEqual(want);
  });
});
