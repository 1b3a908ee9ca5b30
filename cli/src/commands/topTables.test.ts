import { create } from "@bufbuild/protobuf";
import { NodeMetricsSchema, NodeSchema, PodMetricsSchema } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { topNodesTable, topPodsTable } from "./topTables.js";

const node = (name: string) =>
  create(NodeSchema, { metadata: { name }, status: { allocatable: { cpu: "4", memory: "8Gi" }, capacity: { cpu: "4", memory: "8Gi" } } });
const nodeMetrics = (name: string, cpu: string, memory: string) =>
  create(NodeMetricsSchema, { metadata: { name }, usage: { cpu, memory } });
const podMetrics = (name: string, namespace: string, containers: Array<[string, string, string]>) =>
  create(PodMetricsSchema, {
    metadata: { name, namespace },
    containers: containers.map(([n, cpu, memory]) => ({ name: n, usage: { cpu, memory } })),
  });

describe("kubelab top tables", () => {
  it("prints nodes in millicores and mebibytes with their share of allocatable, unknown ones last", () => {
    const out = topNodesTable(
      [node("node-1"), node("node-2"), node("node-3")],
      [nodeMetrics("node-1", "250000000n", "1048576Ki"), nodeMetrics("node-2", "1", "2Gi")],
      {
        sortBy: "cpu",
        headers: true,
      },
    );
    expect(out.split("\n")).toEqual([
      "NAME     CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)",
      "node-2   1000m        25%         2048Mi          25%",
      "node-1   250m         6%          1024Mi          12%",
      "node-3   <unknown>    <unknown>   <unknown>       <unknown>",
    ]);
  });

  it("sums a pod's containers, and prints each container with --containers", () => {
    const ms = [
      podMetrics("web-1", "default", [
        ["app", "100m", "10Mi"],
        ["sidecar", "50m", "5Mi"],
      ]),
      podMetrics("db", "data", [["pg", "300m", "1Mi"]]),
    ];
    expect(topPodsTable(ms, { sortBy: "cpu", headers: true, allNamespaces: true, containers: false }).split("\n")).toEqual([
      "NAMESPACE   NAME    CPU(cores)   MEMORY(bytes)",
      "data        db      300m         1Mi",
      "default     web-1   150m         15Mi",
    ]);
    expect(topPodsTable(ms, { sortBy: "memory", headers: false, allNamespaces: false, containers: true }).split("\n")).toEqual([
      "web-1   app       100m   10Mi",
      "web-1   sidecar   50m    5Mi",
      "db      pg        300m   1Mi",
    ]);
  });
});
