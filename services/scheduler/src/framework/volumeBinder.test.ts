import { describe, expect, it } from "vitest";
import { clone, create } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  StorageClassSchema,
  type KubeObject,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
} from "@kubelab/api";
import type { VolumeListers } from "../plugins/volumeBinding.js";
import { node, pod } from "../testing/factories.js";
import { bindPodVolumes } from "./volumeBinder.js";

const n1 = node("n1", { labels: { "kubernetes.io/hostname": "n1" } });
const podWith = (claimName: string): Pod => {
  const p = pod("web");
  p.spec!.volumes = [{ name: "v", persistentVolumeClaim: { claimName, readOnly: false } } as never];
  return p;
};
const claim = (cls: string) =>
  create(PersistentVolumeClaimSchema, {
    metadata: { name: "data", namespace: "default", uid: "uid-data", annotations: {} },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: cls },
  });
const classes = {
  standard: create(StorageClassSchema, {
    metadata: { name: "standard" },
    provisioner: "kubelab.io/local-path",
    volumeBindingMode: "WaitForFirstConsumer",
  }),
  local: create(StorageClassSchema, {
    metadata: { name: "local" },
    provisioner: "kubernetes.io/no-provisioner",
    volumeBindingMode: "WaitForFirstConsumer",
  }),
};

function world(c: PersistentVolumeClaim, volumes: PersistentVolume[] = []) {
  const state = { claim: c };
  const writes: KubeObject[] = [];
  const listers: VolumeListers = {
    claim: () => state.claim,
    volume: (n) => volumes.find((v) => v.metadata!.name === n),
    volumes: () => volumes,
    storageClass: (n) => classes[n as keyof typeof classes],
  };
  const client = {
    update: async <T extends KubeObject>(o: T) => {
      writes.push(o);
      return o;
    },
  };
  return { state, writes, listers, client };
}

describe("bindPodVolumes (VolumeBinding PreBind)", () => {
  it("asks for provisioning on the chosen node, then waits until the claim is bound", async () => {
    const w = world(claim("standard"));
    let slept = 0;
    const sleep = async () => {
      if (++slept === 2) {
        const bound = clone(PersistentVolumeClaimSchema, w.state.claim);
        bound.spec!.volumeName = "pvc-uid-data";
        bound.metadata!.annotations = { "pv.kubernetes.io/bind-completed": "yes" };
        w.state.claim = bound;
      }
    };
    await bindPodVolumes(podWith("data"), n1, w.listers, w.client as never, 10_000, sleep);
    expect(w.writes).toHaveLength(1);
    expect((w.writes[0] as PersistentVolumeClaim).metadata!.annotations["volume.kubernetes.io/selected-node"]).toBe("n1");
    expect(slept).toBe(2);
  });

  it("binds a static match by the volume's claimRef", async () => {
    const pv = create(PersistentVolumeSchema, {
      metadata: { name: "pv1", annotations: {} },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "local", local: { path: "/mnt" } },
      status: { phase: "Available" },
    });
    const w = world(claim("local"), [pv]);
    await expect(bindPodVolumes(podWith("data"), n1, w.listers, w.client as never, 0, async () => {})).rejects.toThrow(
      "binding volumes: context deadline exceeded",
    );
    const written = w.writes[0] as PersistentVolume;
    expect(written.metadata!.name).toBe("pv1");
    expect(written.spec!.claimRef).toMatchObject({ namespace: "default", name: "data", uid: "uid-data" });
  });
});
