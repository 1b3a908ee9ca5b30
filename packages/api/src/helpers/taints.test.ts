import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { TolerationSchema, type Toleration } from "../gen/kubelab/core/v1/pod_pb.js";
import { toleratesTaint, type TaintLike } from "./taints.js";

function toleration(t: { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number }): Toleration {
  return create(TolerationSchema, t);
}

function taint(key: string, value: string, effect: string): TaintLike {
  return { key, value, effect };
}

const gpu = taint("dedicated", "gpu", "NoSchedule");

// Kubernetes' Toleration.ToleratesTaint (k8s.io/api/core/v1/toleration.go).
const cases: Array<{ name: string; toleration: Toleration; taint: TaintLike; want: boolean }> = [
  { name: "an empty key with Exists tolerates every taint", toleration: toleration({ operator: "Exists" }), taint: gpu, want: true },
  {
    name: "an empty key with Exists tolerates a NoExecute taint too",
    toleration: toleration({ operator: "Exists" }),
    taint: taint("node.kubernetes.io/unreachable", "", "NoExecute"),
    want: true,
  },
  {
    name: "an empty key with Exists and an effect tolerates every taint of that effect",
    toleration: toleration({ operator: "Exists", effect: "NoSchedule" }),
    taint: gpu,
    want: true,
  },
  {
    name: "an empty key with Exists and an effect does not tolerate another effect",
    toleration: toleration({ operator: "Exists", effect: "NoSchedule" }),
    taint: taint("dedicated", "gpu", "NoExecute"),
    want: false,
  },
  {
    name: "Exists with a key tolerates that key whatever its value",
    toleration: toleration({ key: "dedicated", operator: "Exists" }),
    taint: taint("dedicated", "anything", "NoSchedule"),
    want: true,
  },
  {
    name: "Exists with a key does not tolerate another key",
    toleration: toleration({ key: "dedicated", operator: "Exists" }),
    taint: taint("team", "gpu", "NoSchedule"),
    want: false,
  },
  {
    name: "keys are compared exactly (case matters)",
    toleration: toleration({ key: "Dedicated", operator: "Exists" }),
    taint: gpu,
    want: false,
  },
  {
    name: "Equal tolerates the same key and value",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "gpu" }),
    taint: gpu,
    want: true,
  },
  {
    name: "Equal does not tolerate another value",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "cpu" }),
    taint: gpu,
    want: false,
  },
  {
    name: "Equal compares values exactly (case matters)",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "GPU" }),
    taint: gpu,
    want: false,
  },
  {
    name: "the operator defaults to Equal: an empty operator tolerates the same value",
    toleration: toleration({ key: "dedicated", value: "gpu" }),
    taint: gpu,
    want: true,
  },
  {
    name: "the operator defaults to Equal: an empty operator does not tolerate another value",
    toleration: toleration({ key: "dedicated", value: "cpu" }),
    taint: gpu,
    want: false,
  },
  {
    name: "the operator defaults to Equal: an empty operator and value do not tolerate a taint with a value",
    toleration: toleration({ key: "dedicated" }),
    taint: gpu,
    want: false,
  },
  {
    name: "Equal with an empty value tolerates a taint with an empty value",
    toleration: toleration({ key: "node-role.kubernetes.io/control-plane", operator: "Equal" }),
    taint: taint("node-role.kubernetes.io/control-plane", "", "NoSchedule"),
    want: true,
  },
  {
    name: "an empty effect matches NoSchedule",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "gpu" }),
    taint: gpu,
    want: true,
  },
  {
    name: "an empty effect matches NoExecute",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "gpu" }),
    taint: taint("dedicated", "gpu", "NoExecute"),
    want: true,
  },
  {
    name: "an empty effect matches PreferNoSchedule",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "gpu" }),
    taint: taint("dedicated", "gpu", "PreferNoSchedule"),
    want: true,
  },
  {
    name: "an effect must be the taint's effect: NoSchedule does not tolerate NoExecute",
    toleration: toleration({ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }),
    taint: taint("dedicated", "gpu", "NoExecute"),
    want: false,
  },
  {
    name: "an effect must be the taint's effect: NoExecute does not tolerate NoSchedule",
    toleration: toleration({ key: "dedicated", operator: "Exists", effect: "NoExecute" }),
    taint: gpu,
    want: false,
  },
  {
    name: "tolerationSeconds does not change which taints are tolerated",
    toleration: toleration({ key: "dedicated", operator: "Exists", effect: "NoExecute", tolerationSeconds: 0 }),
    taint: taint("dedicated", "gpu", "NoExecute"),
    want: true,
  },
];

describe("toleratesTaint (Kubernetes' ToleratesTaint)", () => {
  it.each(cases)("$name", ({ toleration, taint, want }) => {
    expect(toleratesTaint(toleration, taint)).toBe(want);
  });

  // The API server's pod validation rejects these two tolerations (as Kubernetes' does), so no
  // stored pod carries them; the rule still answers as ToleratesTaint does.
  it("an empty key with Equal matches every key and compares the value, as ToleratesTaint does", () => {
    expect(toleratesTaint(toleration({ operator: "Equal", value: "gpu" }), gpu)).toBe(true);
  });

  it("an unknown operator tolerates nothing, as ToleratesTaint does", () => {
    expect(toleratesTaint(toleration({ key: "dedicated", operator: "In", value: "gpu" }), gpu)).toBe(false);
  });
});
