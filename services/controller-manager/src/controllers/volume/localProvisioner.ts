import { create } from "@bufbuild/protobuf";
import {
  claimRefOf,
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_IS_DEFAULT_CLASS,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  LOCAL_STORAGE_DIR,
  PersistentVolumeSchema,
  PodSchema,
  StorageClassSchema,
  claimClass,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type StorageClass,
} from "@kubelab/api";
import { ignoreNotFound, isAlreadyExists, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";

export const LOCAL_PATH_PROVISIONER = "kubelab.io/local-path";
/** Where on a node the provisioned volumes live (the kubelet creates each directory when it mounts it). */
export const LOCAL_PATH_ROOT = LOCAL_STORAGE_DIR;
export const DEFAULT_CLASS_NAME = "standard";
/** The image of the helper pod that removes a deleted volume's directory. */
export const HELPER_IMAGE = "kubelab/shell:dev";
/** The label of a helper pod: the volume whose directory it removes. */
export const HELPER_VOLUME_LABEL = "kubelab.io/local-path-volume";
const HELPER_NAMESPACE = "kube-system";
const HOSTNAME_LABEL = "kubernetes.io/hostname";
const CLAIM = "claim:";
const VOLUME = "volume:";

/** The class the provisioner creates at start if there is none of that name (an existing one is never overwritten). */
export function defaultStorageClass(): StorageClass {
  return create(StorageClassSchema, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: DEFAULT_CLASS_NAME, annotations: { [ANN_IS_DEFAULT_CLASS]: "true" } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: false,
  });
}

/** The directory of a claim's volume on its node: pvc-<uid>_<namespace>_<name>, as rancher's local-path-provisioner names it. */
export const volumeDirectory = (pvc: PersistentVolumeClaim) =>
  `${LOCAL_PATH_ROOT}/pvc-${pvc.metadata!.uid}_${pvc.metadata!.namespace}_${pvc.metadata!.name}`;

/**
 * The volume for a claim on a node: named pvc-<claim uid>, a local directory on that node only,
 * of the requested size (recorded, not enforced: a directory has no quota), the claim's access
 * modes and volume mode, the class's reclaim policy, and bound to the claim by its claimRef.
 */
export function provisionedVolume(pvc: PersistentVolumeClaim, sc: StorageClass, node: string): PersistentVolume {
  const m = pvc.metadata!;
  return create(PersistentVolumeSchema, {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `pvc-${m.uid}`, annotations: { [ANN_DYNAMICALLY_PROVISIONED]: LOCAL_PATH_PROVISIONER } },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests.storage ?? "0" },
      accessModes: [...(pvc.spec?.accessModes ?? [])],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy || "Delete",
      storageClassName: sc.metadata!.name,
      mountOptions: [...sc.mountOptions],
      volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
      claimRef: claimRefOf(pvc),
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [node] }] }] } },
      local: { path: volumeDirectory(pvc) },
    },
  });
}

/** The node a provisioned volume is on: the value of its hostname affinity. */
export function volumeNode(pv: PersistentVolume): string | undefined {
  for (const t of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [])
    for (const r of t.matchExpressions) if (r.key === HOSTNAME_LABEL && r.operator === "In" && r.values.length === 1) return r.values[0];
  return undefined;
}

/** The pod that removes a volume's directory on its node: pinned there, the storage root mounted, `rm -rf` of the directory. */
export function helperPod(pv: PersistentVolume, node: string): Pod {
  const dir = pv.spec?.local?.path ?? "";
  return create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `delete-${pv.metadata!.name}`, namespace: HELPER_NAMESPACE, labels: { [HELPER_VOLUME_LABEL]: pv.metadata!.name } },
    spec: {
      nodeName: node,
      restartPolicy: "Never",
      tolerations: [{ operator: "Exists" }],
      containers: [
        {
          name: "delete",
          image: HELPER_IMAGE,
          command: ["rm", "-rf", dir],
          volumeMounts: [{ name: "storage", mountPath: LOCAL_PATH_ROOT }],
        },
      ],
      volumes: [{ name: "storage", hostPath: { path: LOCAL_PATH_ROOT, type: "DirectoryOrCreate" } }],
    },
  });
}

/** Whether this provisioner is asked to provision the claim, and may: handed to it, unbound, a node chosen. */
export function wantsProvisioning(pvc: PersistentVolumeClaim): boolean {
  const a = pvc.metadata?.annotations ?? {};
  const ours = a[ANN_STORAGE_PROVISIONER] === LOCAL_PATH_PROVISIONER || a[ANN_BETA_STORAGE_PROVISIONER] === LOCAL_PATH_PROVISIONER;
  return ours && !pvc.spec?.volumeName && !pvc.metadata?.deletionTimestamp && pvc.status?.phase !== "Bound";
}

/**
 * The lab's local volume provisioner (after rancher's local-path-provisioner and
 * sig-storage-lib-external-provisioner), an external provisioner run in the controller manager:
 * it creates the default class, answers claims the PV controller hands to kubelab.io/local-path
 * once the scheduler has chosen a node, and deletes its Released volumes of policy Delete by
 * removing their directory with a helper pod on the node, then the volume.
 */
export class LocalPathProvisioner extends QueueController {
  readonly name = "local-path-provisioner";
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly pods: Informer<Pod>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.claims = ctx.informers.for<PersistentVolumeClaim>("persistentvolumeclaims");
    this.volumes = ctx.informers.for<PersistentVolume>("persistentvolumes");
    this.classes = ctx.informers.for<StorageClass>("storageclasses");
    this.pods = ctx.informers.for<Pod>("pods");
    const claimKey = (c: PersistentVolumeClaim) => this.queue.add(`${CLAIM}${c.metadata!.namespace}/${c.metadata!.name}`);
    this.claims.addEventHandler({ onAdd: claimKey, onUpdate: (_, c) => claimKey(c) });
    const volumeKey = (v: PersistentVolume) => this.queue.add(`${VOLUME}${v.metadata!.name}`);
    this.volumes.addEventHandler({ onAdd: volumeKey, onUpdate: (_, v) => volumeKey(v), onDelete: volumeKey });
    const podChanged = (p: Pod) => {
      const pv = p.metadata?.labels[HELPER_VOLUME_LABEL];
      if (pv) this.queue.add(`${VOLUME}${pv}`);
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (_, p) => podChanged(p), onDelete: podChanged });
  }

  /** Creates the default class when missing (never overwriting one), then runs the workers. */
  override async run(workers: number, resyncMs?: number): Promise<void> {
    try {
      await this.ctx.client.create(defaultStorageClass());
      this.ctx.log.info("created the default StorageClass", { name: DEFAULT_CLASS_NAME });
    } catch (e) {
      if (!isAlreadyExists(e)) this.ctx.log.warn("default StorageClass not created", { error: e });
    }
    return super.run(workers, resyncMs);
  }

  protected allKeys(): string[] {
    return [...this.claims.indexer.keys().map((k) => `${CLAIM}${k}`), ...this.volumes.indexer.keys().map((k) => `${VOLUME}${k}`)];
  }

  async reconcile(key: string): Promise<void> {
    if (key.startsWith(CLAIM)) {
      const claim = this.claims.get(key.slice(CLAIM.length));
      if (claim && wantsProvisioning(claim)) await this.provision(claim);
    } else if (key.startsWith(VOLUME)) {
      const name = key.slice(VOLUME.length);
      const pv = this.volumes.get(name);
      if (pv) await this.deleteIfReleased(pv);
      else await this.removeHelpers(name);
    }
  }

  private async provision(claim: PersistentVolumeClaim): Promise<void> {
    const m = claim.metadata!;
    const sc = this.classes.get(claimClass(claim));
    if (!sc || sc.provisioner !== LOCAL_PATH_PROVISIONER) return;
    const node = m.annotations[ANN_SELECTED_NODE];
    if (!node) {
      if (sc.volumeBindingMode !== "WaitForFirstConsumer")
        this.ctx.recorder.event(
          claim,
          "Warning",
          "ProvisioningFailed",
          `failed to provision volume with StorageClass "${sc.metadata!.name}": configuration error, no node was specified`,
        );
      return;
    }
    if (this.volumes.get(`pvc-${m.uid}`)) return;
    this.ctx.recorder.event(
      claim,
      "Normal",
      "Provisioning",
      `External provisioner is provisioning volume for claim "${m.namespace}/${m.name}"`,
    );
    try {
      await this.ctx.client.create(provisionedVolume(claim, sc, node));
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.ctx.recorder.event(
        claim,
        "Warning",
        "ProvisioningFailed",
        `failed to provision volume with StorageClass "${sc.metadata!.name}": ${e}`,
      );
      throw e;
    }
    this.ctx.recorder.event(claim, "Normal", "ProvisioningSucceeded", `Successfully provisioned volume pvc-${m.uid}`);
  }

  /** A Released volume of ours with policy Delete: its directory removed by a helper pod, then the pod and the volume deleted. */
  private async deleteIfReleased(pv: PersistentVolume): Promise<void> {
    const m = pv.metadata!;
    if (m.annotations[ANN_DYNAMICALLY_PROVISIONED] !== LOCAL_PATH_PROVISIONER) return;
    if (pv.status?.phase !== "Released" || pv.spec?.persistentVolumeReclaimPolicy !== "Delete" || m.deletionTimestamp) return;
    const node = volumeNode(pv);
    if (!node) return;
    const helper = helperPod(pv, node);
    const hm = helper.metadata!;
    const current = this.pods.get(`${hm.namespace}/${hm.name}`);
    if (!current) {
      try {
        await this.ctx.client.create(helper);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
      return;
    }
    const phase = current.status?.phase;
    if (phase === "Failed") {
      this.ctx.recorder.event(
        pv,
        "Warning",
        "VolumeFailedDelete",
        `helper pod ${hm.namespace}/${hm.name} failed to remove ${pv.spec?.local?.path}`,
      );
      await ignoreNotFound(this.ctx.client.delete("pods", hm.namespace, hm.name, { gracePeriodSeconds: 0 }));
      throw new Error(`removing the directory of ${m.name} failed`);
    }
    if (phase !== "Succeeded") return;
    // The volume goes first: were the pod gone first, a sync in between would see a Released
    // volume without its helper and start another. The helper is removed once the volume is gone.
    await ignoreNotFound(this.ctx.client.delete("persistentvolumes", "", m.name));
    await ignoreNotFound(this.ctx.client.delete("pods", hm.namespace, hm.name, { gracePeriodSeconds: 0 }));
    this.ctx.log.info("deleted volume", { volume: m.name, node });
  }

  /** Helper pods of a volume that is gone. */
  private async removeHelpers(volume: string): Promise<void> {
    for (const p of this.pods.indexer.byIndex("namespace", HELPER_NAMESPACE)) {
      if (p.metadata?.labels[HELPER_VOLUME_LABEL] !== volume) continue;
      await ignoreNotFound(this.ctx.client.delete("pods", HELPER_NAMESPACE, p.metadata.name, { gracePeriodSeconds: 0 }));
    }
  }
}
