import { describe, expect, it } from "vitest";
import type { Node, Pod } from "@kubelab/api";
import { fits, unfit, type FilterResult } from "../framework/types.js";
import { node as nodeNamed, nodeInfo, pod as podNamed, runFilter, type TolerationSpec } from "../testing/factories.js";
import { nodeReady } from "./nodeReady.js";

/** A node whose Ready condition has this status; undefined: no Ready condition at all. */
const node = (ready: "True" | "False" | "Unknown" | undefined): Node =>
  nodeNamed("n", { conditions: [{ type: "MemoryPressure", status: "False" }, ...(ready ? [{ type: "Ready", status: ready }] : [])] });

const pod = (tolerations: TolerationSpec[] = []): Pod => podNamed("p", { tolerations });

const filter = (p: Pod, n: Node): FilterResult => runFilter(nodeReady, p, nodeInfo(n));

// What the DefaultTolerationSeconds admission plugin gives every pod: NoExecute only.
const defaultTolerations: TolerationSpec[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
];
const notReady = unfit("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
const unreachable = unfit("node(s) had untolerated taint {node.kubernetes.io/unreachable: }");

const cases: Array<{ name: string; pod: Pod; node: Node; want: FilterResult }> = [
  { name: "a Ready node takes the pod", pod: pod(), node: node("True"), want: fits },
  { name: "a node whose Ready is False is kept off as by the not-ready NoSchedule taint", pod: pod(), node: node("False"), want: notReady },
  {
    name: "a node whose Ready is Unknown is kept off as by the unreachable NoSchedule taint",
    pod: pod(),
    node: node("Unknown"),
    want: unreachable,
  },
  { name: "a node without a Ready condition is kept off as unreachable", pod: pod(), node: node(undefined), want: unreachable },
  {
    name: "a pod tolerating the not-ready taint goes on a not-ready node",
    pod: pod([{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" }]),
    node: node("False"),
    want: fits,
  },
  {
    name: "a pod tolerating the unreachable taint goes on an unreachable node",
    pod: pod([{ key: "node.kubernetes.io/unreachable", operator: "Exists" }]),
    node: node("Unknown"),
    want: fits,
  },
  { name: "a pod tolerating every taint goes on a not-ready node", pod: pod([{ operator: "Exists" }]), node: node("False"), want: fits },
  {
    name: "the default NoExecute tolerations do not let a pod onto a not-ready node",
    pod: pod(defaultTolerations),
    node: node("False"),
    want: notReady,
  },
  {
    name: "the default NoExecute tolerations do not let a pod onto an unreachable node",
    pod: pod(defaultTolerations),
    node: node("Unknown"),
    want: unreachable,
  },
  {
    name: "tolerating not-ready does not let a pod onto an unreachable node",
    pod: pod([{ key: "node.kubernetes.io/not-ready", operator: "Exists" }]),
    node: node("Unknown"),
    want: unreachable,
  },
  {
    name: "an Equal toleration with the taint's empty value is enough",
    pod: pod([{ key: "node.kubernetes.io/not-ready", operator: "Equal", value: "", effect: "NoSchedule" }]),
    node: node("False"),
    want: fits,
  },
];

describe("NodeReady filter", () => {
  it.each(cases)("$name", ({ pod, node, want }) => {
    expect(filter(pod, node)).toEqual(want);
  });
});
