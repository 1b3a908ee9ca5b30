import { promises as fs } from "node:fs";
import path from "node:path";
import {
  LOCAL_STORAGE_DIR,
  termMatches,
  type ConfigMap,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type Secret,
  type Volume,
  wholeValue,
} from "@kubelab/api";
import { type ApiClient, ignoreNotFound } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { DockerRuntime } from "../runtime/dockerRuntime.js";
import { writeAtomically } from "./atomicWriter.js";
import { checkHostPathType } from "./hostPathCheck.js";
import { type NodeFilesystem, hostPathOf } from "./nodePaths.js";
import { VolumeSetupError, sourcesOf, volumePayload, type VolumeSources } from "./projections.js";

/** Where a pod's volume comes from, for Docker: a host path, or a Docker volume (with its host path). */
export type MountSource = { kind: "path"; hostPath: string } | { kind: "dockerVolume"; name: string; hostPath: string };

/** A volume of a pod that could not be set up, with the kubelet's message. */
export class VolumeMountError extends Error {
  constructor(
    readonly volume: string,
    readonly reason: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${reason}`);
  }
}

export interface VolumeManagerOptions {
  /** The kubelet's --root-dir, on disk: configMap and downwardAPI volumes' files. */
  rootDir: string;
  /** A tmpfs directory for secret and projected volumes' files (Kubernetes mounts a tmpfs per volume). */
  memoryRootDir: string;
  /** Whether memoryRootDir is a tmpfs: secrets are never written to disk, so without one secret volumes fail. */
  memoryIsTmpfs: boolean;
}

/** The Docker volume of an emptyDir (shared by the pod's containers, removed with the pod). */
export function emptyDirVolumeName(pod: Pod, volume: string): string {
  return `kubelab-${pod.metadata!.uid}-${volume}`;
}

/** Where the sandbox holds a memory-backed emptyDir mounted. */
export const SANDBOX_VOLUME_DIR = "/kubelab/volumes";

/** Kubernetes' plugin directory names under pods/<uid>/volumes/. */
const PLUGIN_DIR = {
  configMap: "kubernetes.io~configmap",
  secret: "kubernetes.io~secret",
  downwardApi: "kubernetes.io~downward-api",
  projected: "kubernetes.io~projected",
} as const;

/**
 * The PersistentVolumeClaim -> PersistentVolume -> path inside this node lookup: the one place a
 * claim becomes a directory, mounted as a hostPath is (hostPathOf). The claim must be Bound, its
 * volume's node affinity must select this node (a local volume is on one node only), and the
 * volume is its local path (made here the first time: the local-path provisioner leaves the
 * directory to the node) or its hostPath, of the type it declares.
 */
export async function persistentVolumeClaimNodePath(
  client: ApiClient,
  pod: Pod,
  claimName: string,
): Promise<{ path: string; type: string }> {
  const namespace = pod.metadata!.namespace;
  const claim = await ignoreNotFound(client.get<PersistentVolumeClaim>("persistentvolumeclaims", namespace, claimName));
  if (!claim) throw new VolumeSetupError(`persistentvolumeclaim "${claimName}" not found`);
  if (claim.status?.phase !== "Bound" || !claim.spec?.volumeName)
    throw new VolumeSetupError(`persistentvolumeclaim "${claimName}" is not bound`);
  const pv = await ignoreNotFound(client.get<PersistentVolume>("persistentvolumes", "", claim.spec.volumeName));
  if (!pv) throw new VolumeSetupError(`persistentvolume "${claim.spec.volumeName}" not found`);
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length) {
    const node = await client.get<Node>("nodes", "", pod.spec!.nodeName);
    if (!terms.some((t) => termMatches(node, t)))
      throw new VolumeSetupError(
        `persistentvolume "${pv.metadata!.name}" is not available on node "${pod.spec!.nodeName}" (its node affinity)`,
      );
  }
  if (pv.spec?.local?.path)
    return { path: pv.spec.local.path, type: pv.spec.local.path.startsWith(`${LOCAL_STORAGE_DIR}/`) ? "DirectoryOrCreate" : "Directory" };
  if (pv.spec?.hostPath?.path) return { path: pv.spec.hostPath.path, type: pv.spec.hostPath.type ?? "" };
  throw new VolumeSetupError(`persistentvolume "${pv.metadata!.name}" has no local or hostPath source this kubelet mounts`);
}

/**
 * The kubelet's volume manager for this node: makes each volume of a pod ready before its
 * containers start (emptyDir as a Docker volume, on disk or tmpfs; hostPath checked inside the
 * node; configMap, secret, downwardAPI and projected written as files by Kubernetes' atomic
 * writer), and rewrites the files on every sync of the pod, so a changed ConfigMap, Secret, or
 * label reaches the files within the kubelet's --sync-frequency. Every node path reaches Docker
 * as a host path through the node's mounts (nodePaths.ts).
 */
export class VolumeManager {
  /** Docker volumes of emptyDirs already made, by pod uid and volume name. */
  private readonly emptyDirs = new Map<string, Map<string, MountSource>>();

  constructor(
    private readonly runtime: DockerRuntime,
    private readonly client: ApiClient,
    private readonly nodeFs: NodeFilesystem,
    private readonly opts: VolumeManagerOptions,
    private readonly log: Logger,
  ) {}

  /** The directory, inside the node, of a volume the kubelet writes files into. */
  podVolumeDir(uid: string, v: Volume): string {
    const memory = !!(v.secret || v.projected);
    const plugin = v.configMap
      ? PLUGIN_DIR.configMap
      : v.secret
        ? PLUGIN_DIR.secret
        : v.downwardApi
          ? PLUGIN_DIR.downwardApi
          : PLUGIN_DIR.projected;
    return path.join(memory ? this.opts.memoryRootDir : this.opts.rootDir, "pods", uid, "volumes", plugin, v.name);
  }

  /**
   * Sets up (or refreshes) every volume of the pod. Returns each volume's source for Docker;
   * throws a VolumeMountError for the first that cannot be set up.
   */
  async setUp(pod: Pod): Promise<Map<string, MountSource>> {
    const uid = pod.metadata!.uid;
    const out = new Map<string, MountSource>();
    const sources = await this.readSources(pod);
    for (const v of pod.spec!.volumes) {
      try {
        out.set(v.name, await this.setUpVolume(pod, v, sources));
      } catch (e) {
        if (e instanceof VolumeSetupError) throw new VolumeMountError(v.name, e.message);
        throw e;
      }
    }
    this.log.debug("pod volumes set up", { uid, volumes: [...out.keys()] });
    return out;
  }

  private async setUpVolume(pod: Pod, v: Volume, sources: VolumeSources): Promise<MountSource> {
    if (v.emptyDir) return this.emptyDir(pod, v);
    if (v.hostPath) return this.nodePath(v.hostPath.path, v.hostPath.type);
    if (v.persistentVolumeClaim) {
      const { path: claimed, type } = await persistentVolumeClaimNodePath(this.client, pod, v.persistentVolumeClaim.claimName);
      return this.nodePath(claimed, type);
    }
    const payload = volumePayload(pod, v, sources);
    if (!payload) throw new VolumeSetupError("volume type not supported by this kubelet");
    const dir = this.podVolumeDir(pod.metadata!.uid, v);
    if (dir.startsWith(this.opts.memoryRootDir) && !this.opts.memoryIsTmpfs) {
      throw new VolumeSetupError(`${this.opts.memoryRootDir} is not a tmpfs: secrets are not written to disk (set --memory-root-dir)`);
    }
    await writeAtomically(dir, payload);
    return { kind: "path", hostPath: hostPathOf(this.nodeFs, dir) };
  }

  /** A path inside the node (a hostPath, a PersistentVolume's directory), checked as its type asks, as the host sees it. */
  async nodePath(nodePath: string, type: string): Promise<MountSource> {
    await checkHostPathType(nodePath, type);
    const real = await fs.realpath(nodePath).catch(() => nodePath);
    return { kind: "path", hostPath: hostPathOf(this.nodeFs, real) };
  }

  /**
   * An emptyDir: a Docker volume of the pod. medium Memory is a tmpfs whose size is the
   * sizeLimit, so the kernel enforces it (a write past it fails with ENOSPC, where Kubernetes
   * evicts the pod); on disk, sizeLimit is not enforced (Kubernetes' eviction manager does it).
   */
  private async emptyDir(pod: Pod, v: Volume): Promise<MountSource> {
    const uid = pod.metadata!.uid;
    const made = this.emptyDirs.get(uid)?.get(v.name);
    if (made) return made;
    const m = pod.metadata!;
    const name = emptyDirVolumeName(pod, v.name);
    const memory = v.emptyDir!.medium === "Memory";
    if (v.emptyDir!.medium && !memory)
      throw new VolumeSetupError(`emptyDir medium "${v.emptyDir!.medium}" is not supported by this kubelet`);
    const sizeBytes = v.emptyDir!.sizeLimit ? wholeValue(v.emptyDir!.sizeLimit) : 0;
    const hostPath = await this.runtime.createPodVolume(
      { name: m.name, namespace: m.namespace, uid },
      name,
      memory ? { sizeBytes } : undefined,
    );
    const source: MountSource = { kind: "dockerVolume", name, hostPath };
    if (!this.emptyDirs.has(uid)) this.emptyDirs.set(uid, new Map());
    this.emptyDirs.get(uid)!.set(v.name, source);
    return source;
  }

  /** Binds of the pod's memory-backed emptyDirs for its sandbox, which keeps them mounted. */
  sandboxBinds(pod: Pod, mounts: Map<string, MountSource>): string[] {
    return pod
      .spec!.volumes.filter((v) => v.emptyDir?.medium === "Memory")
      .map((v) => {
        const s = mounts.get(v.name)!;
        return `${s.kind === "dockerVolume" ? s.name : s.hostPath}:${SANDBOX_VOLUME_DIR}/${v.name}`;
      });
  }

  /** The ConfigMaps and Secrets the pod's volumes name, read once per sync. */
  private async readSources(pod: Pod): Promise<VolumeSources> {
    const ns = pod.metadata!.namespace;
    const out: VolumeSources = { configMaps: new Map(), secrets: new Map() };
    for (const v of pod.spec!.volumes) {
      const { configMaps, secrets } = sourcesOf(v);
      for (const n of configMaps)
        if (!out.configMaps.has(n)) out.configMaps.set(n, await ignoreNotFound(this.client.get<ConfigMap>("configmaps", ns, n)));
      for (const n of secrets) if (!out.secrets.has(n)) out.secrets.set(n, await ignoreNotFound(this.client.get<Secret>("secrets", ns, n)));
    }
    return out;
  }

  /** Removes a pod's volumes: its files under both roots and its Docker volumes. */
  async tearDown(uid: string): Promise<void> {
    for (const root of [this.opts.rootDir, this.opts.memoryRootDir]) {
      await fs.rm(path.join(root, "pods", uid), { recursive: true, force: true });
    }
    await this.runtime.removePodVolumes(uid);
    this.emptyDirs.delete(uid);
  }

  /** Removes the volume directories of pods this node no longer has (left by a kubelet that stopped). */
  async removeOrphans(isKnown: (uid: string) => boolean): Promise<void> {
    for (const root of [this.opts.rootDir, this.opts.memoryRootDir]) {
      const uids = await fs.readdir(path.join(root, "pods")).catch(() => [] as string[]);
      for (const uid of uids) {
        if (isKnown(uid)) continue;
        this.log.info("removing volumes of a pod no longer on this node", { uid });
        await this.tearDown(uid);
      }
    }
  }
}
