import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PodSchema } from "@kubelab/api";
import { podsToCollect } from "./orphans.js";

const pod = (name: string, nodeName: string, deleting = false) =>
  create(PodSchema, {
    metadata: { name, namespace: "default", deletionTimestamp: deleting ? "2026-01-01T00:00:00Z" : "" },
    spec: { nodeName },
  });

describe("the pods the pod garbage collector removes", () => {
  it("takes pods of a node gone for the quarantine, not before, and forgets a node that came back", () => {
    const gone = new Map<string, number>();
    const pods = [pod("a", "node-4"), pod("b", "node-1"), pod("c", "node-4")];
    const exists = (n: string) => n !== "node-4";
    expect(podsToCollect(pods, exists, gone, 1_000, 10_000).orphaned).toEqual([]);
    expect(gone.get("node-4")).toBe(1_000);
    expect(podsToCollect(pods, exists, gone, 10_999, 10_000).orphaned).toEqual([]);
    expect(podsToCollect(pods, exists, gone, 11_000, 10_000).orphaned.map((p) => p.metadata!.name)).toEqual(["a", "c"]);
    podsToCollect(pods, () => true, gone, 12_000, 10_000);
    expect(gone.size).toBe(0);
  });

  it("takes pods being deleted that were never scheduled, at once", () => {
    const r = podsToCollect([pod("pending", ""), pod("leaving", "", true)], () => true, new Map(), 0, 10_000);
    expect(r.unscheduledTerminating.map((p) => p.metadata!.name)).toEqual(["leaving"]);
    expect(r.orphaned).toEqual([]);
  });
});
