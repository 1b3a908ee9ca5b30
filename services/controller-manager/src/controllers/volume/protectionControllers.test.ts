import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  PodSchema,
  type PersistentVolume,
  type PersistentVolumeClaim,
} from "@kubelab/api";
import { newFixture } from "../testing/fakes.js";
import { PvProtectionController, PvcProtectionController, finalizerAction } from "./protectionControllers.js";

const deletedClaim = () =>
  create(PersistentVolumeClaimSchema, {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: "data",
      namespace: "default",
      deletionTimestamp: "2026-01-01T00:00:00Z",
      finalizers: ["kubernetes.io/pvc-protection"],
    },
    spec: { accessModes: ["ReadWriteOnce"] },
  });
const podUsing = (phase: string) =>
  create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "user", namespace: "default" },
    spec: { volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }], containers: [{ name: "c", image: "i" }] },
    status: { phase },
  });

describe("protection finalizers", () => {
  it("adds the finalizer to a live object, removes it from a deleted one nothing uses, keeps it while in use", () => {
    expect(finalizerAction(false, false, false)).toBe("add");
    expect(finalizerAction(true, false, true)).toBeUndefined();
    expect(finalizerAction(true, true, true)).toBeUndefined();
    expect(finalizerAction(true, true, false)).toBe("remove");
  });

  it("keeps a deleted claim while a running pod uses it, and lets it go once the pod has finished", async () => {
    const f = newFixture(deletedClaim(), podUsing("Running"));
    const c = new PvcProtectionController(f.ctx);
    await c.reconcile("default/data");
    expect(f.client.writes()).toEqual([]);
    f.seed(podUsing("Succeeded"));
    await c.reconcile("default/data");
    expect(f.client.object<PersistentVolumeClaim>("persistentvolumeclaims", "default", "data")).toBeUndefined();
  });

  it("keeps a deleted volume while it is Bound", async () => {
    const pv = (phase: string) =>
      create(PersistentVolumeSchema, {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: "pv1", deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["kubernetes.io/pv-protection"] },
        status: { phase },
      });
    const f = newFixture(pv("Bound"));
    const c = new PvProtectionController(f.ctx);
    await c.reconcile("pv1");
    expect(f.client.writes()).toEqual([]);
    f.seed(pv("Released"));
    await c.reconcile("pv1");
    expect(f.client.object<PersistentVolume>("persistentvolumes", "", "pv1")).toBeUndefined();
  });
});
