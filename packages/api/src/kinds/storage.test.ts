import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  type PersistentVolumeClaim,
} from "../gen/kubelab/core/v1/persistentvolume_pb.js";
import { kindForResource } from "../registry.js";
import { validatePersistentVolume, validatePersistentVolumeClaim, validatePersistentVolumeClaimUpdate } from "./storage.js";
import "./index.js";

const errors = (errs: { toString(): string }[]) => errs.map(String);

const claim = (spec: Record<string, unknown> = {}, phase = "Pending"): PersistentVolumeClaim =>
  create(PersistentVolumeClaimSchema, {
    metadata: { name: "c", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
    status: { phase },
  });

describe("PersistentVolume validation", () => {
  it("needs access modes, a storage capacity and one source, in Kubernetes' words", () => {
    expect(errors(validatePersistentVolume(create(PersistentVolumeSchema, { spec: {} })))).toEqual([
      "spec.accessModes: Required value",
      "spec.capacity: Required value",
      "spec: Required value: must specify a volume type (this lab serves local and hostPath volumes)",
    ]);
  });

  it("refuses a capacity other than storage, an unknown access mode or reclaim policy, and two sources", () => {
    const pv = create(PersistentVolumeSchema, {
      spec: {
        capacity: { storage: "1Gi", cpu: "1" },
        accessModes: ["ReadWriteSometimes"],
        persistentVolumeReclaimPolicy: "Keep",
        hostPath: { path: "/a" },
        local: { path: "/b" },
        nodeAffinity: {
          required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] }] },
        },
      },
    });
    expect(errors(validatePersistentVolume(pv))).toEqual([
      'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
      'spec.capacity: Unsupported value: {"storage":"1Gi","cpu":"1"}: supported values: "storage"',
      'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"',
      "spec.hostPath: Forbidden: may not specify more than 1 volume type",
    ]);
  });

  it("needs node affinity for a local volume, and no '..' in a path", () => {
    const pv = create(PersistentVolumeSchema, {
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], local: { path: "/data/../etc" } },
    });
    expect(errors(validatePersistentVolume(pv))).toEqual([
      `spec.local.path: Invalid value: "/data/../etc": must not contain '..'`,
      "spec.nodeAffinity: Required value: Local volume requires node affinity",
    ]);
  });

  it("defaults the reclaim policy to Retain, the mode to Filesystem and a new volume's phase to Pending", () => {
    const def = kindForResource("persistentvolumes")!;
    const pv = create(PersistentVolumeSchema, { metadata: { name: "v" }, spec: { capacity: { storage: "1Gi" } } });
    def.prepareForCreate!(pv);
    def.defaults!(pv);
    expect([pv.spec!.persistentVolumeReclaimPolicy, pv.spec!.volumeMode, pv.status!.phase]).toEqual(["Retain", "Filesystem", "Pending"]);
  });
});

describe("PersistentVolumeClaim validation", () => {
  it("needs an access mode and a positive storage request", () => {
    expect(errors(validatePersistentVolumeClaim(claim({ accessModes: [], resources: { requests: {} } })))).toEqual([
      "spec.accessModes: Required value: at least 1 access mode is required",
      "spec.resources[storage]: Required value",
    ]);
    expect(errors(validatePersistentVolumeClaim(claim({ resources: { requests: { storage: "0" } } })))).toEqual([
      'spec.resources[storage]: Invalid value: "0": must be greater than zero',
    ]);
  });

  it("keeps the spec once created, but lets binding set volumeName and a bound claim's request grow", () => {
    const msg =
      "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
    expect(errors(validatePersistentVolumeClaimUpdate(claim({ accessModes: ["ReadWriteMany"] }), claim()))).toEqual([msg]);
    expect(errors(validatePersistentVolumeClaimUpdate(claim({ volumeName: "pv1" }), claim()))).toEqual([]);
    expect(errors(validatePersistentVolumeClaimUpdate(claim({ volumeName: "pv2" }), claim({ volumeName: "pv1" })))).toEqual([msg]);
    const bigger = { resources: { requests: { storage: "2Gi" } } };
    expect(errors(validatePersistentVolumeClaimUpdate(claim(bigger), claim()))).toEqual([msg]);
    expect(errors(validatePersistentVolumeClaimUpdate(claim(bigger, "Bound"), claim({}, "Bound")))).toEqual([]);
  });

  it("prints kubectl's columns, with Terminating for a claim being deleted", () => {
    const def = kindForResource("persistentvolumeclaims")!;
    const c = claim({ volumeName: "pv1", storageClassName: "standard" }, "Bound");
    c.status!.capacity = { storage: "1Gi" };
    c.status!.accessModes = ["ReadWriteOnce"];
    c.metadata!.deletionTimestamp = "2026-01-01T00:00:00Z";
    expect(def.columns.filter((col) => !col.wide && col.name !== "AGE").map((col) => [col.name, col.value(c, new Date())])).toEqual([
      ["STATUS", "Terminating"],
      ["VOLUME", "pv1"],
      ["CAPACITY", "1Gi"],
      ["ACCESS MODES", "RWO"],
      ["STORAGECLASS", "standard"],
      ["VOLUMEATTRIBUTESCLASS", "<unset>"],
    ]);
  });
});
