import { describe, expect, it } from "vitest";
import { clone, create } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeStatusSchema,
  PodSchema,
  PodStatusSchema,
  type StorageClass,
  type PersistentVolume,
  type Pod,
} from "@kubelab/api";
import { newFixture } from "../testing/fakes.js";
import {
  LocalPathProvisioner,
  defaultStorageClass,
  helperPod,
  provisionedVolume,
  volumeNode,
  wantsProvisioning,
} from "./localProvisioner.js";

const claim = (annotations: Record<string, string> = {}) =>
  create(PersistentVolumeClaimSchema, {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "apps", uid: "1234", annotations },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "2Gi" } },
      storageClassName: "standard",
      volumeMode: "Filesystem",
    },
    status: { phase: "Pending" },
  });
const handed = { "volume.kubernetes.io/storage-provisioner": "kubelab.io/local-path", "volume.kubernetes.io/selected-node": "node-2" };

/** The provisioner's volume for the claim, its claim gone. */
const released = (sc: StorageClass): PersistentVolume => {
  const pv = provisionedVolume(claim(handed), sc, "node-2");
  pv.status = create(PersistentVolumeStatusSchema, { phase: "Released" });
  return pv;
};

describe("the local-path provisioner", () => {
  it("provisions pvc-<uid>: a directory on the selected node, the claim's size and modes, the class's policy, bound to the claim", () => {
    const pv = provisionedVolume(claim(handed), defaultStorageClass(), "node-2");
    expect(pv.metadata!.name).toBe("pvc-1234");
    expect(pv.metadata!.annotations).toEqual({ "pv.kubernetes.io/provisioned-by": "kubelab.io/local-path" });
    expect(pv.spec!.local?.path).toBe("/var/lib/kubelab/storage/pvc-1234_apps_data");
    expect([pv.spec!.capacity.storage, pv.spec!.accessModes, pv.spec!.persistentVolumeReclaimPolicy, pv.spec!.storageClassName]).toEqual([
      "2Gi",
      ["ReadWriteOnce"],
      "Delete",
      "standard",
    ]);
    expect(pv.spec!.claimRef).toMatchObject({ namespace: "apps", name: "data", uid: "1234" });
    expect(volumeNode(pv)).toBe("node-2");
  });

  it("provisions only claims handed to it, unbound, with a node chosen; the class is WaitForFirstConsumer and the default", () => {
    expect(wantsProvisioning(claim(handed))).toBe(true);
    expect(wantsProvisioning(claim())).toBe(false);
    const sc = defaultStorageClass();
    expect([
      sc.metadata!.name,
      sc.volumeBindingMode,
      sc.reclaimPolicy,
      sc.metadata!.annotations["storageclass.kubernetes.io/is-default-class"],
    ]).toEqual(["standard", "WaitForFirstConsumer", "Delete", "true"]);
  });

  it("removes a Released volume's directory with a helper pod on its node, then deletes the volume and the pod", async () => {
    const pv = released(defaultStorageClass());
    const f = newFixture(pv);
    const p = new LocalPathProvisioner(f.ctx);
    await p.reconcile("volume:pvc-1234");
    const helper = f.client.object<Pod>("pods", "kube-system", "delete-pvc-1234")!;
    expect(helper.spec).toEqual(helperPod(pv, "node-2").spec);
    expect(helper.metadata!.labels).toEqual({ "kubelab.io/local-path-volume": "pvc-1234" });
    expect(helper.spec!.nodeName).toBe("node-2");
    expect(helper.spec!.containers[0]!.command).toEqual(["rm", "-rf", "/var/lib/kubelab/storage/pvc-1234_apps_data"]);
    f.observe("pods", "kube-system", "delete-pvc-1234");
    await p.reconcile("volume:pvc-1234");
    expect(f.client.objects<PersistentVolume>("persistentvolumes")).toHaveLength(1); // still running
    const done = clone(PodSchema, helper);
    done.status = create(PodStatusSchema, { phase: "Succeeded" });
    f.client.seed(done);
    f.observe("pods", "kube-system", "delete-pvc-1234");
    await p.reconcile("volume:pvc-1234");
    expect(f.client.objects("persistentvolumes")).toEqual([]);
    expect(f.client.objects("pods", "kube-system")).toEqual([]);
  });

  it("leaves a Retain volume alone", async () => {
    const sc = defaultStorageClass();
    sc.reclaimPolicy = "Retain";
    const pv = released(sc);
    const f = newFixture(pv);
    await new LocalPathProvisioner(f.ctx).reconcile("volume:pvc-1234");
    expect(f.client.writes()).toEqual([]);
  });
});
