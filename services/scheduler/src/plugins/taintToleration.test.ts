import { describe, expect, it } from "vitest";
import type { Node, Pod } from "@kubelab/api";
import { fits, unfit, type FilterResult } from "../framework/types.js";
import { node as nodeNamed, nodeInfo, pod as podNamed, runFilter, type TaintSpec, type TolerationSpec } from "../testing/factories.js";
import { taintToleration } from "./taintToleration.js";

const node = (taints: TaintSpec[] = []): Node => nodeNamed("n", { taints });

const pod = (tolerations: TolerationSpec[] = []): Pod => podNamed("p", { tolerations });

const filter = (p: Pod, n: Node): FilterResult => runFilter(taintToleration, p, nodeInfo(n));

const gpu: TaintSpec = { key: "dedicated", value: "gpu", effect: "NoSchedule" };

const cases: Array<{ name: string; pod: Pod; node: Node; want: FilterResult }> = [
  { name: "a node without taints takes a pod without tolerations", pod: pod(), node: node(), want: fits },
  {
    name: "a NoSchedule taint the pod does not tolerate keeps it off the node",
    pod: pod(),
    node: node([gpu]),
    want: unfit("node(s) had untolerated taint {dedicated: gpu}"),
  },
  {
    name: "a NoExecute taint the pod does not tolerate keeps it off the node",
    pod: pod(),
    node: node([{ key: "dedicated", value: "gpu", effect: "NoExecute" }]),
    want: unfit("node(s) had untolerated taint {dedicated: gpu}"),
  },
  {
    name: "a PreferNoSchedule taint is not filtered on",
    pod: pod(),
    node: node([{ key: "dedicated", value: "gpu", effect: "PreferNoSchedule" }]),
    want: fits,
  },
  {
    name: "a taint with an empty value is worded with nothing after the colon",
    pod: pod(),
    node: node([{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]),
    want: unfit("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
  },
  {
    name: "a tolerated NoSchedule taint lets the pod on",
    pod: pod([{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }]),
    node: node([gpu]),
    want: fits,
  },
  {
    name: "a toleration with another value does not let the pod on",
    pod: pod([{ key: "dedicated", operator: "Equal", value: "cpu", effect: "NoSchedule" }]),
    node: node([gpu]),
    want: unfit("node(s) had untolerated taint {dedicated: gpu}"),
  },
  {
    name: "a NoSchedule toleration does not tolerate the same taint with NoExecute",
    pod: pod([{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }]),
    node: node([{ key: "dedicated", value: "gpu", effect: "NoExecute" }]),
    want: unfit("node(s) had untolerated taint {dedicated: gpu}"),
  },
  {
    name: "a NoExecute toleration with tolerationSeconds lets the pod on",
    pod: pod([{ key: "dedicated", operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }]),
    node: node([{ key: "dedicated", value: "gpu", effect: "NoExecute" }]),
    want: fits,
  },
  {
    name: "an empty key with Exists tolerates every taint",
    pod: pod([{ operator: "Exists" }]),
    node: node([gpu, { key: "team", value: "a", effect: "NoExecute" }]),
    want: fits,
  },
  {
    name: "every NoSchedule and NoExecute taint must be tolerated: tolerating one of two is not enough",
    pod: pod([{ key: "dedicated", operator: "Exists" }]),
    node: node([gpu, { key: "team", value: "a", effect: "NoExecute" }]),
    want: unfit("node(s) had untolerated taint {team: a}"),
  },
  {
    name: "the reason names the node's first untolerated taint",
    pod: pod(),
    node: node([{ key: "soft", value: "x", effect: "PreferNoSchedule" }, { key: "team", value: "a", effect: "NoExecute" }, gpu]),
    want: unfit("node(s) had untolerated taint {team: a}"),
  },
  {
    name: "an untolerated PreferNoSchedule taint beside tolerated ones does not keep the pod off",
    pod: pod([{ key: "dedicated", operator: "Exists" }]),
    node: node([gpu, { key: "soft", value: "x", effect: "PreferNoSchedule" }]),
    want: fits,
  },
];

describe("TaintToleration filter", () => {
  it.each(cases)("$name", ({ pod, node, want }) => {
    expect(filter(pod, node)).toEqual(want);
  });
});
