import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import {
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  StorageClassSchema,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type StorageClass,
} from "@kubelab/api";
import { findNode } from "../framework/findNode.js";
import { node, nodeInfos, pod } from "../testing/factories.js";
import {
  REASON_BIND_CONFLICT,
  REASON_NODE_CONFLICT,
  volumeBinding,
  volumeDecision,
  podVolumeClaims,
  type VolumeListers,
} from "./volumeBinding.js";

const cls = (name: string, mode: string, provisioner = "kubelab.io/local-path"): StorageClass =>
  create(StorageClassSchema, { metadata: { name }, provisioner, volumeBindingMode: mode });

const claim = (
  name: string,
  opts: { cls?: string; volume?: string; selectedNode?: string; deleting?: boolean } = {},
): PersistentVolumeClaim =>
  create(PersistentVolumeClaimSchema, {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      annotations: opts.selectedNode ? { "volume.kubernetes.io/selected-node": opts.selectedNode } : {},
      deletionTimestamp: opts.deleting ? "2026-01-01T00:00:00Z" : "",
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      storageClassName: opts.cls ?? "",
      volumeName: opts.volume ?? "",
    },
  });

const volume = (name: string, nodeName: string | undefined, opts: { cls?: string; claim?: string } = {}): PersistentVolume =>
  create(PersistentVolumeSchema, {
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      storageClassName: opts.cls ?? "",
      claimRef: opts.claim ? { namespace: "default", name: opts.claim, uid: `uid-${opts.claim}` } : undefined,
      nodeAffinity: nodeName
        ? {
            required: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [nodeName] }] }],
            },
          }
        : undefined,
      local: { path: `/mnt/${name}` },
    },
    status: { phase: opts.claim ? "Bound" : "Available" },
  });

function listers(claims: PersistentVolumeClaim[], volumes: PersistentVolume[], classes: StorageClass[]): VolumeListers {
  return {
    claim: (ns, n) => claims.find((c) => c.metadata!.namespace === ns && c.metadata!.name === n),
    volume: (n) => volumes.find((v) => v.metadata!.name === n),
    volumes: () => volumes,
    storageClass: (n) => classes.find((c) => c.metadata!.name === n),
  };
}

const podWith = (...claims: string[]): Pod => {
  const p = pod("web");
  p.spec!.volumes = claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c, readOnly: false } }) as never);
  return p;
};

const nodes = nodeInfos([
  [node("n1", { labels: { "kubernetes.io/hostname": "n1" } }), []],
  [node("n2", { labels: { "kubernetes.io/hostname": "n2" } }), []],
]);

const place = (p: Pod, l: VolumeListers) => findNode(p, nodes, [volumeBinding(l)], [], () => 0);

describe("VolumeBinding", () => {
  it("leaves a pod without claims alone", () => {
    expect(place(pod("plain"), listers([], [], []))).toEqual({ node: "n1" });
  });

  it("finds a pod whose claim is missing unschedulable everywhere, naming the claim", () => {
    expect(place(podWith("data"), listers([], [], []))).toEqual({
      node: undefined,
      message: '0/2 nodes are available: persistentvolumeclaim "data" not found.',
    });
  });

  it("refuses a claim being deleted", () => {
    const r = podVolumeClaims(podWith("data"), listers([claim("data", { deleting: true })], [], []));
    expect(r).toEqual({ error: 'persistentvolumeclaim "data" is being deleted' });
  });

  it("waits for an unbound claim of an Immediate class (the PV controller binds it first)", () => {
    const l = listers([claim("data", { cls: "fast" })], [], [cls("fast", "Immediate")]);
    expect(place(podWith("data"), l)).toEqual({
      node: undefined,
      message: "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
    });
  });

  it("places a pod with a bound claim only where its volume's node affinity allows", () => {
    const l = listers([claim("data", { volume: "pv1" })], [volume("pv1", "n2", { claim: "data" })], []);
    expect(place(podWith("data"), l)).toEqual({ node: "n2" });
    const nowhere = listers([claim("data", { volume: "pv1" })], [volume("pv1", "n3", { claim: "data" })], []);
    expect(place(podWith("data"), nowhere)).toEqual({ node: undefined, message: `0/2 nodes are available: 2 ${REASON_NODE_CONFLICT}.` });
  });

  it("binds a WaitForFirstConsumer claim to an available volume on the node, or on no node when none fits", () => {
    const local = cls("local", "WaitForFirstConsumer", "kubernetes.io/no-provisioner");
    const l = listers([claim("data", { cls: "local" })], [volume("pv-n2", "n2", { cls: "local" })], [local]);
    expect(place(podWith("data"), l)).toEqual({ node: "n2" });
    const n2 = nodes[1]!.node;
    expect(volumeDecision((podVolumeClaims(podWith("data"), l) as { claims: never }).claims, n2, l)).toMatchObject({
      staticBindings: [{ volume: { metadata: { name: "pv-n2" } } }],
      provision: [],
    });
    const none = listers([claim("data", { cls: "local" })], [], [local]);
    expect(place(podWith("data"), none)).toEqual({ node: undefined, message: `0/2 nodes are available: 2 ${REASON_BIND_CONFLICT}.` });
  });

  it("lets a provisioner's WaitForFirstConsumer claim go to any node, and keeps a node already selected", () => {
    const std = cls("standard", "WaitForFirstConsumer");
    expect(place(podWith("data"), listers([claim("data", { cls: "standard" })], [], [std]))).toEqual({ node: "n1" });
    expect(place(podWith("data"), listers([claim("data", { cls: "standard", selectedNode: "n2" })], [], [std]))).toEqual({ node: "n2" });
  });

  it("promises each volume to one claim of the pod", () => {
    const local = cls("local", "WaitForFirstConsumer", "kubernetes.io/no-provisioner");
    const l = listers([claim("a", { cls: "local" }), claim("b", { cls: "local" })], [volume("pv1", "n1", { cls: "local" })], [local]);
    expect(place(podWith("a", "b"), l)).toEqual({ node: undefined, message: `0/2 nodes are available: 2 ${REASON_BIND_CONFLICT}.` });
  });
});
