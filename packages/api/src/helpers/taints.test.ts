import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TolerationSchema } from "../gen/kubelab/core/v1/pod_pb.js";
import { toleratesTaint } from "./taints.js";

const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
const t = (o: { key?: string; operator?: string; value?: string; effect?: string }) => create(TolerationSchema, o);

describe("toleratesTaint (Kubernetes' Toleration.ToleratesTaint)", () => {
  const cases: Array<[string, ReturnType<typeof t>, boolean]> = [
    ["Equal with the same key, value and effect tolerates", t({ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }), true],
    ["an empty operator means Equal", t({ key: "dedicated", value: "gpu", effect: "NoSchedule" }), true],
    ["Equal with another value does not tolerate", t({ key: "dedicated", operator: "Equal", value: "cpu", effect: "NoSchedule" }), false],
    ["Exists tolerates any value of the key", t({ key: "dedicated", operator: "Exists", effect: "NoSchedule" }), true],
    ["an empty effect matches every effect", t({ key: "dedicated", operator: "Exists" }), true],
    ["another effect does not tolerate", t({ key: "dedicated", operator: "Exists", effect: "NoExecute" }), false],
    ["another key does not tolerate", t({ key: "other", operator: "Exists" }), false],
    ["an empty key with Exists tolerates every taint", t({ operator: "Exists" }), true],
    ["an empty key with Equal compares the value only", t({ operator: "Equal", value: "gpu" }), true],
    ["an operator Kubernetes does not know tolerates nothing", t({ key: "dedicated", operator: "In", value: "gpu" }), false],
  ];
  for (const [name, toleration, want] of cases) it(name, () => expect(toleratesTaint(toleration, taint)).toBe(want));
});
