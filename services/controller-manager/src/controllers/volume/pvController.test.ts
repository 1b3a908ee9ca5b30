import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  StorageClassSchema,
  type PersistentVolume,
  type PersistentVolumeClaim,
} from "@kubelab/api";
import { newFixture } from "../testing/fakes.js";
import { PersistentVolumeController } from "./pvController.js";

const claim = (name: string, cls: string | undefined, extra: { volumeName?: string; annotations?: Record<string, string> } = {}) =>
  create(PersistentVolumeClaimSchema, {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default", uid: `uid-${name}`, annotations: extra.annotations ?? {} },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      storageClassName: cls,
      volumeName: extra.volumeName ?? "",
    },
    status: { phase: "Pending" },
  });

const volume = (name: string, extra: { claim?: string; policy?: string; phase?: string; provisionedBy?: string } = {}): PersistentVolume =>
  create(PersistentVolumeSchema, {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: extra.provisionedBy ? { "pv.kubernetes.io/provisioned-by": extra.provisionedBy } : {} },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: extra.policy ?? "Retain",
      claimRef: extra.claim
        ? { kind: "PersistentVolumeClaim", namespace: "default", name: extra.claim, uid: `uid-${extra.claim}` }
        : undefined,
      hostPath: { path: `/tmp/${name}` },
    },
    status: { phase: extra.phase ?? "Available" },
  });

const sc = (name: string, mode: string, provisioner = "kubelab.io/local-path") =>
  create(StorageClassSchema, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name },
    provisioner,
    volumeBindingMode: mode,
  });

/** Runs the key until nothing changes, feeding every write back to the informers. */
async function settle(f: ReturnType<typeof newFixture>, c: PersistentVolumeController, keys: string[]) {
  for (let round = 0; round < 5; round++) {
    for (const k of keys) await c.reconcile(k);
    for (const v of f.client.objects<PersistentVolume>("persistentvolumes")) f.observe("persistentvolumes", "", v.metadata!.name);
    for (const p of f.client.objects<PersistentVolumeClaim>("persistentvolumeclaims"))
      f.observe("persistentvolumeclaims", "default", p.metadata!.name);
  }
}

describe("PersistentVolumeController", () => {
  it("binds a claim and a matching volume both ways and marks both Bound", async () => {
    const f = newFixture(claim("data", ""), volume("pv1"));
    const c = new PersistentVolumeController(f.ctx);
    await settle(f, c, ["claim:default/data", "volume:pv1"]);
    const pvc = f.client.object<PersistentVolumeClaim>("persistentvolumeclaims", "default", "data")!;
    const pv = f.client.object<PersistentVolume>("persistentvolumes", "", "pv1")!;
    expect([pvc.spec!.volumeName, pvc.status!.phase, pvc.status!.capacity.storage]).toEqual(["pv1", "Bound", "1Gi"]);
    expect(pvc.metadata!.annotations).toEqual({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect([pv.spec!.claimRef?.uid, pv.status!.phase]).toEqual(["uid-data", "Bound"]);
    expect(pv.status!.lastPhaseTransitionTime).toBeTruthy();
  });

  it("says why a claim waits: no class, a consumer to come, or a provisioner it is handed to", async () => {
    const f = newFixture(
      claim("none", ""),
      claim("wffc", "standard"),
      claim("now", "fast"),
      sc("standard", "WaitForFirstConsumer"),
      sc("fast", "Immediate"),
    );
    const c = new PersistentVolumeController(f.ctx);
    for (const k of ["claim:default/none", "claim:default/wffc", "claim:default/now"]) await c.reconcile(k);
    expect(f.recorder.lines()).toEqual([
      "Normal FailedBinding no persistent volumes available for this claim and no storage class is set",
      "Normal WaitForFirstConsumer waiting for first consumer to be created before binding",
      "Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'kubelab.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
    ]);
    const now = f.client.object<PersistentVolumeClaim>("persistentvolumeclaims", "default", "now")!;
    expect(now.metadata!.annotations["volume.kubernetes.io/storage-provisioner"]).toBe("kubelab.io/local-path");
    expect(now.metadata!.annotations["volume.beta.kubernetes.io/storage-provisioner"]).toBe("kubelab.io/local-path");
  });

  it("releases a volume whose claim is gone: Retain keeps it, Delete of a provisioned one is left to its provisioner, else Failed", async () => {
    const f = newFixture(
      volume("keep", { claim: "gone", phase: "Bound" }),
      volume("provisioned", { claim: "gone", phase: "Bound", policy: "Delete", provisionedBy: "kubelab.io/local-path" }),
      volume("static", { claim: "gone", phase: "Bound", policy: "Delete" }),
    );
    const c = new PersistentVolumeController(f.ctx);
    await settle(f, c, ["volume:keep", "volume:provisioned", "volume:static"]);
    const phase = (n: string) => f.client.object<PersistentVolume>("persistentvolumes", "", n)!.status!.phase;
    expect([phase("keep"), phase("provisioned"), phase("static")]).toEqual(["Released", "Released", "Failed"]);
    expect(f.recorder.lines()).toEqual([
      'Warning VolumeFailedDelete error getting deleter volume plugin for volume "static": no deletable volume plugin matched',
    ]);
  });

  it("marks a bound claim whose volume is gone Lost", async () => {
    const f = newFixture(claim("data", "", { volumeName: "pv1", annotations: { "pv.kubernetes.io/bind-completed": "yes" } }));
    await new PersistentVolumeController(f.ctx).reconcile("claim:default/data");
    expect(f.client.object<PersistentVolumeClaim>("persistentvolumeclaims", "default", "data")!.status!.phase).toBe("Lost");
    expect(f.recorder.lines()).toEqual(["Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!"]);
  });
});
