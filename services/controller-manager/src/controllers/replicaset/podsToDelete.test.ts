import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema, type Pod } from "@kubelab/api";
import { podsToDelete } from "./podsToDelete.js";

const pod = (name: string, o: { node?: string; phase?: string; ready?: boolean; created?: string; restarts?: number }): Pod =>
  create(PodSchema, {
    metadata: { name, creationTimestamp: o.created ?? "2026-01-01T00:00:00Z" },
    spec: { nodeName: o.node ?? "" },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: o.ready ? "True" : "False", lastTransitionTime: "2026-01-01T00:00:00Z" }],
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 }],
    },
  });

describe("podsToDelete", () => {
  it("takes unscheduled, then pending, then not ready, then the newest pods first", () => {
    const pods = [
      pod("ready-old", { node: "n", ready: true, created: "2026-01-01T00:00:00Z" }),
      pod("ready-new", { node: "n", ready: true, created: "2026-01-02T00:00:00Z" }),
      pod("unready", { node: "n", ready: false }),
      pod("pending", { node: "n", phase: "Pending" }),
      pod("unscheduled", { phase: "Pending" }),
    ];
    expect(podsToDelete(pods, 5).map((p) => p.metadata!.name)).toEqual(["unscheduled", "pending", "unready", "ready-new", "ready-old"]);
    expect(podsToDelete(pods, 2).map((p) => p.metadata!.name)).toEqual(["unscheduled", "pending"]);
  });
});
