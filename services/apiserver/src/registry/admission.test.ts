import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PersistentVolumeClaimSchema, PersistentVolumeSchema, StorageClassSchema, type PersistentVolumeClaim } from "@kubelab/api";
import { admitOnCreate, defaultStorageClass } from "./admission.js";

const cls = (name: string, isDefault: boolean, created = "2026-01-01T00:00:00Z") =>
  create(StorageClassSchema, {
    metadata: { name, creationTimestamp: created, annotations: isDefault ? { "storageclass.kubernetes.io/is-default-class": "true" } : {} },
    provisioner: "p",
  });
const claim = (storageClassName?: string): PersistentVolumeClaim =>
  create(PersistentVolumeClaimSchema, { metadata: { name: "c", namespace: "default" }, spec: { storageClassName } });
const opts = { defaultNotReadyTolerationSeconds: 300, defaultUnreachableTolerationSeconds: 300 };

describe("DefaultStorageClass", () => {
  it("gives a claim with no class the default one, the newest of several", () => {
    const c = claim();
    defaultStorageClass(c, [cls("slow", false), cls("old", true), cls("new", true, "2026-02-01T00:00:00Z")]);
    expect(c.spec!.storageClassName).toBe("new");
  });

  it('leaves a claim that names a class, or "" (no class), and one when no class is the default', () => {
    for (const name of ["fast", ""]) {
      const c = claim(name);
      defaultStorageClass(c, [cls("std", true)]);
      expect(c.spec!.storageClassName).toBe(name);
    }
    const c = claim();
    defaultStorageClass(c, [cls("slow", false)]);
    expect(c.spec!.storageClassName).toBeUndefined();
  });
});

describe("StorageObjectInUseProtection", () => {
  it("puts the protection finalizer on every new claim and volume", () => {
    const c = claim("x");
    admitOnCreate(c, opts, { storageClasses: () => [] });
    expect(c.metadata!.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    const pv = create(PersistentVolumeSchema, { metadata: { name: "v" } });
    admitOnCreate(pv, opts, { storageClasses: () => [] });
    expect(pv.metadata!.finalizers).toEqual(["kubernetes.io/pv-protection"]);
  });
});
