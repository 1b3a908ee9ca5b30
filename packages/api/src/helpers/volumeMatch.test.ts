import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PersistentVolumeClaimSchema, PersistentVolumeSchema, type PersistentVolume } from "../gen/kubelab/core/v1/persistentvolume_pb.js";
import { findMatchingVolume, volumeMismatch } from "./volumeMatch.js";

const pv = (
  name: string,
  size: string,
  extra: { modes?: string[]; cls?: string; labels?: Record<string, string>; claim?: [string, string, string?]; phase?: string } = {},
): PersistentVolume =>
  create(PersistentVolumeSchema, {
    metadata: { name, labels: extra.labels ?? {} },
    spec: {
      capacity: { storage: size },
      accessModes: extra.modes ?? ["ReadWriteOnce"],
      storageClassName: extra.cls ?? "",
      volumeMode: "Filesystem",
      claimRef: extra.claim && { namespace: extra.claim[0], name: extra.claim[1], uid: extra.claim[2] ?? "" },
      hostPath: { path: `/data/${name}` },
    },
    status: { phase: extra.phase ?? "Available" },
  });

const pvc = (size: string, extra: { modes?: string[]; cls?: string; selector?: Record<string, string>; uid?: string } = {}) =>
  create(PersistentVolumeClaimSchema, {
    metadata: { name: "claim", namespace: "ns", uid: extra.uid ?? "uid-claim" },
    spec: {
      accessModes: extra.modes ?? ["ReadWriteOnce"],
      resources: { requests: { storage: size } },
      storageClassName: extra.cls ?? "",
      selector: extra.selector && { matchLabels: extra.selector },
    },
  });

const names = (v: PersistentVolume | undefined) => v?.metadata?.name;

describe("findMatchingVolume", () => {
  it("takes the smallest volume at least as large as the request", () => {
    expect(names(findMatchingVolume(pvc("1Gi"), [pv("big", "10Gi"), pv("small", "500Mi"), pv("fit", "2Gi")]))).toBe("fit");
  });

  it("finds nothing when every volume is too small", () => {
    expect(findMatchingVolume(pvc("5Gi"), [pv("a", "1Gi"), pv("b", "4Gi")])).toBeUndefined();
  });

  it("takes only volumes of the claim's class, and a claim of no class only volumes of none", () => {
    const vols = [pv("fast", "1Gi", { cls: "fast" }), pv("none", "1Gi")];
    expect(names(findMatchingVolume(pvc("1Gi", { cls: "fast" }), vols))).toBe("fast");
    expect(names(findMatchingVolume(pvc("1Gi"), vols))).toBe("none");
    expect(findMatchingVolume(pvc("1Gi", { cls: "slow" }), vols)).toBeUndefined();
  });

  it("needs every access mode the claim asks for, and prefers volumes with fewer extra modes", () => {
    const vols = [
      pv("rwo", "1Gi"),
      pv("all", "1Gi", { modes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"] }),
      pv("rwx", "5Gi", { modes: ["ReadWriteMany"] }),
    ];
    expect(names(findMatchingVolume(pvc("1Gi", { modes: ["ReadWriteMany"] }), vols))).toBe("rwx");
    expect(names(findMatchingVolume(pvc("1Gi", { modes: ["ReadWriteOnce", "ReadOnlyMany"] }), vols))).toBe("all");
    expect(names(findMatchingVolume(pvc("1Gi", { modes: ["ReadWriteOncePod"] }), vols))).toBeUndefined();
  });

  it("takes only volumes the claim's selector matches", () => {
    const vols = [pv("a", "1Gi", { labels: { tier: "gold" } }), pv("b", "1Gi", { labels: { tier: "silver" } })];
    expect(names(findMatchingVolume(pvc("1Gi", { selector: { tier: "silver" } }), vols))).toBe("b");
  });

  it("skips volumes bound or pre-bound to another claim, and released ones", () => {
    const vols = [pv("other", "1Gi", { claim: ["ns", "someone"] }), pv("released", "1Gi", { phase: "Released" }), pv("free", "3Gi")];
    expect(names(findMatchingVolume(pvc("1Gi"), vols))).toBe("free");
  });

  it("takes a volume pre-bound to the claim (by name, or by name and uid) whatever its size", () => {
    expect(names(findMatchingVolume(pvc("1Gi"), [pv("fit", "1Gi"), pv("mine", "100Mi", { claim: ["ns", "claim"] })]))).toBe("mine");
    expect(names(findMatchingVolume(pvc("1Gi"), [pv("old", "1Gi", { claim: ["ns", "claim", "another-uid"] })]))).toBeUndefined();
  });

  it("with delayed binding, takes only a pre-bound volume", () => {
    expect(findMatchingVolume(pvc("1Gi"), [pv("fit", "1Gi")], { delayBinding: true })).toBeUndefined();
    expect(
      names(findMatchingVolume(pvc("1Gi"), [pv("mine", "1Gi", { claim: ["ns", "claim", "uid-claim"] })], { delayBinding: true })),
    ).toBe("mine");
  });

  it("asks the node question when given, and skips excluded volumes", () => {
    const vols = [pv("a", "1Gi"), pv("b", "2Gi")];
    expect(names(findMatchingVolume(pvc("1Gi"), vols, { nodeFits: (v) => v.metadata!.name === "b" }))).toBe("b");
    expect(names(findMatchingVolume(pvc("1Gi"), vols, { excluded: new Set(["a"]) }))).toBe("b");
  });
});

describe("volumeMismatch", () => {
  it("says why a requested volume cannot serve the claim, in the PV controller's words", () => {
    expect(volumeMismatch(pv("v", "1Gi"), pvc("2Gi"))).toBe("requested PV is too small");
    expect(volumeMismatch(pv("v", "1Gi", { cls: "x" }), pvc("1Gi"))).toBe("storageClassName does not match");
    expect(volumeMismatch(pv("v", "1Gi"), pvc("1Gi", { modes: ["ReadWriteMany"] }))).toBe("incompatible accessMode");
    expect(volumeMismatch(pv("v", "1Gi"), pvc("1Gi"))).toBeUndefined();
  });
});
