import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema } from "@kubelab/api";
import { defaultFilters, defaultScores } from "../plugins/index.js";
import { cacheOf, node, pod } from "../testing/factories.js";
import { findNode, fitErrorMessage } from "./findNode.js";
import { podRequests } from "./resources.js";

describe("findNode", () => {
  it("words a pod that fits nowhere as kube-scheduler does, most frequent reason first", () => {
    const c = cacheOf([
      node("a", { memory: "1Gi" }),
      node("b", { memory: "1Gi" }),
      node("gpu", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
    ]);
    const r = findNode(pod("big", { memory: "2Gi" }), c.list(), defaultFilters, defaultScores);
    expect(r).toEqual({
      node: undefined,
      message: "0/3 nodes are available: 2 Insufficient memory, 1 node(s) had untolerated taint {dedicated: gpu}.",
    });
  });

  it("honours tolerations, nodeSelector, readiness and cordoning", () => {
    const c = cacheOf([
      node("gpu", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }], labels: { disk: "ssd" } }),
      node("down", { ready: false, labels: { disk: "ssd" } }),
      node("cordoned", { unschedulable: true, labels: { disk: "ssd" } }),
      node("plain"),
    ]);
    expect(findNode(pod("p", { nodeSelector: { disk: "ssd" } }), c.list(), defaultFilters, defaultScores)).toEqual({
      node: undefined,
      message:
        "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
    });
    const tolerant = pod("t", {
      nodeSelector: { disk: "ssd" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
    });
    expect(findNode(tolerant, c.list(), defaultFilters, defaultScores)).toEqual({ node: "gpu" });
  });

  it("counts bound and assumed pods against allocatable, and pod slots", () => {
    const c = cacheOf([node("a", { cpu: "1", pods: "2" })], [pod("x", { cpu: "600m", nodeName: "a" })]);
    expect(findNode(pod("y", { cpu: "500m" }), c.list(), defaultFilters, defaultScores)).toEqual({
      node: undefined,
      message: "0/1 nodes are available: 1 Insufficient cpu.",
    });
    c.assume(pod("z", { cpu: "100m" }), "a");
    expect(findNode(pod("w"), c.list(), defaultFilters, defaultScores)).toEqual({
      node: undefined,
      message: "0/1 nodes are available: 1 Too many pods.",
    });
    c.forget("uid-z");
    expect(findNode(pod("w"), c.list(), defaultFilters, defaultScores)).toEqual({ node: "a" });
  });

  it("prefers the emptier node, and spreads pods of one owner", () => {
    const c = cacheOf([node("a"), node("b")], [pod("busy", { cpu: "3", memory: "6Gi", nodeName: "a" })]);
    expect(findNode(pod("p", { cpu: "100m" }), c.list(), defaultFilters, defaultScores)).toEqual({ node: "b" });
    const even = cacheOf([node("a"), node("b")], [pod("s1", { owner: "rs1", nodeName: "b" })]);
    // Same load otherwise (the sibling asks for nothing): the owner's second pod goes to a.
    expect(findNode(pod("s2", { owner: "rs1" }), even.list(), defaultFilters, defaultScores, () => 0.99)).toEqual({ node: "a" });
  });
});

describe("resources and messages", () => {
  it("takes the larger of the app containers' sum and the biggest init container", () => {
    const p = create(PodSchema, {
      spec: {
        initContainers: [{ name: "i", image: "i", resources: { requests: { cpu: "2", memory: "64Mi" } } }],
        containers: [
          { name: "a", image: "i", resources: { requests: { cpu: "500m", memory: "128Mi" } } },
          { name: "b", image: "i", resources: { limits: { cpu: "250m", memory: "128Mi" } } },
        ],
      },
    });
    expect(podRequests(p)).toEqual({ milliCpu: 2000, memory: 256 * 1024 * 1024, pods: 1 });
  });

  it("breaks count ties alphabetically", () => {
    expect(
      fitErrorMessage(
        2,
        new Map([
          ["Insufficient memory", 1],
          ["Insufficient cpu", 1],
        ]),
      ),
    ).toBe("0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.");
  });
});
