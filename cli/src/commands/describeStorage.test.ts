import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PersistentVolumeClaimSchema, PersistentVolumeSchema, StorageClassSchema } from "@kubelab/api";
import { pvDetails, pvcDetails, storageClassDetails } from "./describeStorage.js";

describe("describe for storage", () => {
  it("shows a local volume's claim, node affinity and source as kubectl does", () => {
    const pv = create(PersistentVolumeSchema, {
      metadata: { name: "pvc-1", finalizers: ["kubernetes.io/pv-protection"] },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        storageClassName: "standard",
        volumeMode: "Filesystem",
        claimRef: { namespace: "default", name: "data" },
        nodeAffinity: {
          required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] }] },
        },
        local: { path: "/var/lib/kubelab/storage/pvc-1_default_data" },
      },
      status: { phase: "Bound" },
    });
    expect(pvDetails(pv)).toEqual([
      "Finalizers:      [kubernetes.io/pv-protection]",
      "StorageClass:    standard",
      "Status:          Bound",
      "Claim:           default/data",
      "Reclaim Policy:  Delete",
      "Access Modes:    RWO",
      "VolumeMode:      Filesystem",
      "Capacity:        1Gi",
      "Node Affinity:   ",
      "  Required Terms:",
      "    Term 0:      kubernetes.io/hostname in [n1]",
      "Message:         ",
      "Source:",
      "    Type:  LocalVolume (a persistent volume backed by local storage on a node)",
      "    Path:  /var/lib/kubelab/storage/pvc-1_default_data",
    ]);
  });

  it("shows a claim's pods under Used By, and a class's default mark", () => {
    const pvc = create(PersistentVolumeClaimSchema, {
      metadata: { name: "data", finalizers: ["kubernetes.io/pvc-protection"] },
      spec: { storageClassName: "standard", volumeMode: "Filesystem" },
      status: { phase: "Pending" },
    });
    expect(pvcDetails(pvc, ["writer"])).toContain("Used By:       writer");
    expect(pvcDetails(pvc, [])).toContain("Used By:       <none>");
    const sc = create(StorageClassSchema, {
      metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "kubelab.io/local-path",
      reclaimPolicy: "Delete",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    expect(storageClassDetails(sc)).toEqual([
      "IsDefaultClass:        Yes",
      "Provisioner:           kubelab.io/local-path",
      "Parameters:            <none>",
      "AllowVolumeExpansion:  <unset>",
      "MountOptions:          <none>",
      "ReclaimPolicy:         Delete",
      "VolumeBindingMode:     WaitForFirstConsumer",
    ]);
  });
});
