import { describe, expect, it } from "vitest";
import type { Node, Pod } from "@kubelab/api";
import { fits, unfit, type FilterResult } from "../framework/types.js";
import { node as nodeNamed, nodeInfo, pod as podNamed, runFilter, type TolerationSpec } from "../testing/factories.js";
import { nodeUnschedulable } from "./nodeUnschedulable.js";

const node = (unschedulable: boolean): Node => nodeNamed("n", { unschedulable });

const pod = (tolerations: TolerationSpec[] = []): Pod => podNamed("p", { tolerations });

const filter = (p: Pod, n: Node): FilterResult => runFilter(nodeUnschedulable, p, nodeInfo(n));

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
