import { describe, expect, it } from "vitest";
import type { Pod } from "@kubelab/api";
import { node, nodeInfos, pod, runScores } from "../testing/factories.js";
import { preferredNodeAffinity } from "./preferredNodeAffinity.js";

const preferring = (...terms: Array<{ weight: number; zone: string }>): Pod => {
  const p = pod("p");
  p.spec!.affinity = {
    $typeName: "kubelab.core.v1.Affinity",
    nodeAffinity: {
      $typeName: "kubelab.core.v1.NodeAffinity",
      preferredDuringSchedulingIgnoredDuringExecution: terms.map((t) => ({
        $typeName: "kubelab.core.v1.PreferredSchedulingTerm",
        weight: t.weight,
        preference: {
          $typeName: "kubelab.core.v1.NodeSelectorTerm",
          matchExpressions: [{ $typeName: "kubelab.core.v1.NodeSelectorRequirement", key: "zone", operator: "In", values: [t.zone] }],
          matchFields: [],
        },
      })),
    },
  } as never;
  return p;
};
const nodes = () => nodeInfos([(["a", "b", "c"] as const).map((z) => [node(`node-${z}`, { labels: { zone: z } }), []])].flat() as never);

describe("NodeAffinity's score: preferred terms", () => {
  it("scores each node by the weights of the terms it matches, the best at 100", () => {
    expect(runScores(preferredNodeAffinity, preferring({ weight: 80, zone: "a" }, { weight: 20, zone: "b" }), nodes())).toEqual({
      "node-a": 100,
      "node-b": 25,
      "node-c": 0,
    });
  });

  it("scores every node 0 without preferences, or when none matches", () => {
    expect(runScores(preferredNodeAffinity, pod("p"), nodes())).toEqual({ "node-a": 0, "node-b": 0, "node-c": 0 });
    expect(runScores(preferredNodeAffinity, preferring({ weight: 50, zone: "x" }), nodes())).toEqual({
      "node-a": 0,
      "node-b": 0,
      "node-c": 0,
    });
  });
});
