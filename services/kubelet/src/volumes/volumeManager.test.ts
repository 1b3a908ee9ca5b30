import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ConfigMapSchema, PodSchema, SecretSchema, type ConfigMap, type Pod, type Secret } from "@kubelab/api";
import { ApiError } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { createLogger } from "@kubelab/service-kit";
import type { DockerRuntime } from "../runtime/dockerRuntime.js";
import { VolumeManager, VolumeMountError } from "./volumeManager.js";

/** A fake API server holding ConfigMaps and Secrets by name; a miss is Kubernetes' NotFound. */
function fakeClient(objects: { configmaps: Map<string, ConfigMap>; secrets: Map<string, Secret> }): ApiClient {
  return {
    get: async (resource: "configmaps" | "secrets", _ns: string, name: string) => {
      const o = objects[resource].get(name);
      if (!o) throw new ApiError(5, `${resource} "${name}" not found`, "NotFound");
      return o;
    },
  } as unknown as ApiClient;
}

/** A fake Docker runtime recording the pod volumes it makes and removes. */
function fakeRuntime() {
  const volumes = new Map<string, { tmpfs?: { sizeBytes: number } }>();
  const removed: string[] = [];
  const runtime = {
    createPodVolume: async (_pod: unknown, name: string, tmpfs?: { sizeBytes: number }) => {
      volumes.set(name, { tmpfs });
      return `/host/volumes/${name}/_data`;
    },
    removePodVolumes: async (uid: string) => void removed.push(uid),
  } as unknown as DockerRuntime;
  return { runtime, volumes, removed };
}

const pod = (volumes: unknown[], uid = "u1"): Pod =>
  create(PodSchema, {
    metadata: { name: "web", namespace: "default", uid, labels: { app: "web" } },
    spec: { volumes: volumes as never, containers: [{ name: "app", image: "i" }] },
  });

describe("VolumeManager", () => {
  let root: string;
  let objects: { configmaps: Map<string, ConfigMap>; secrets: Map<string, Secret> };
  let docker: ReturnType<typeof fakeRuntime>;
  const manager = (memoryIsTmpfs = true) =>
    new VolumeManager(
      docker.runtime,
      fakeClient(objects),
      // The node's kubelet directory is a volume the host has elsewhere; the rest is the node's root.
      { mounts: [{ source: "/host/kubelet", destination: path.join(root, "kubelet") }], rootOnHost: "/host/merged" },
      { rootDir: path.join(root, "kubelet"), memoryRootDir: path.join(root, "memory"), memoryIsTmpfs },
      createLogger("test", () => {}),
    );

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "volume-manager-"));
    objects = {
      configmaps: new Map([["cfg", create(ConfigMapSchema, { data: { greeting: "hello" } })]]),
      secrets: new Map([["s", create(SecretSchema, { data: { password: Buffer.from("hunter2") } })]]),
    };
    docker = fakeRuntime();
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it("writes a configMap volume under the root dir and gives its host path; a later sync brings the new data", async () => {
    const m = manager();
    const p = pod([{ name: "config", configMap: { name: "cfg", defaultMode: 0o644 } }]);
    const mounts = await m.setUp(p);
    const dir = path.join(root, "kubelet/pods/u1/volumes/kubernetes.io~configmap/config");
    expect(mounts.get("config")).toEqual({ kind: "path", hostPath: "/host/kubelet/pods/u1/volumes/kubernetes.io~configmap/config" });
    expect(await fs.readFile(path.join(dir, "greeting"), "utf8")).toBe("hello");
    objects.configmaps.set("cfg", create(ConfigMapSchema, { data: { greeting: "bonjour" } }));
    await m.setUp(p);
    expect(await fs.readFile(path.join(dir, "greeting"), "utf8")).toBe("bonjour");
  });

  it("writes secrets only to the memory root, and refuses when it is not a tmpfs", async () => {
    const p = pod([{ name: "creds", secret: { secretName: "s" } }]);
    await manager().setUp(p);
    expect(await fs.readFile(path.join(root, "memory/pods/u1/volumes/kubernetes.io~secret/creds/password"), "utf8")).toBe("hunter2");
    await expect(manager(false).setUp(pod([{ name: "creds", secret: { secretName: "s" } }], "u2"))).rejects.toThrow(
      /MountVolume.SetUp failed for volume "creds" : .* is not a tmpfs/,
    );
  });

  it("names the volume that cannot be set up, in the kubelet's words", async () => {
    const err = await manager()
      .setUp(pod([{ name: "config", configMap: { name: "nope" } }]))
      .catch((e) => e);
    expect(err).toBeInstanceOf(VolumeMountError);
    expect(err.message).toBe('MountVolume.SetUp failed for volume "config" : configmap "nope" not found');
  });

  it("makes emptyDirs as Docker volumes, a Memory one as a tmpfs of its sizeLimit held by the sandbox", async () => {
    const m = manager();
    const p = pod([
      { name: "scratch", emptyDir: {} },
      { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } },
    ]);
    const mounts = await m.setUp(p);
    expect(docker.volumes.get("kubelab-u1-scratch")).toEqual({ tmpfs: undefined });
    expect(docker.volumes.get("kubelab-u1-cache")).toEqual({ tmpfs: { sizeBytes: 8 * 1024 * 1024 } });
    expect(m.sandboxBinds(p, mounts)).toEqual(["kubelab-u1-cache:/kubelab/volumes/cache"]);
  });

  it("checks a hostPath inside the node and maps it to the node's root filesystem on the host", async () => {
    const m = manager();
    const dir = path.join(root, "data/logs");
    const mounts = await m.setUp(pod([{ name: "logs", hostPath: { path: dir, type: "DirectoryOrCreate" } }]));
    expect((await fs.stat(dir)).isDirectory()).toBe(true);
    expect(mounts.get("logs")).toEqual({ kind: "path", hostPath: path.join("/host/merged", await fs.realpath(dir)) });
  });

  it("removes a pod's directories and Docker volumes, and those of pods no longer known", async () => {
    const m = manager();
    await m.setUp(pod([{ name: "config", configMap: { name: "cfg" } }], "gone"));
    await m.setUp(pod([{ name: "creds", secret: { secretName: "s" } }], "kept"));
    await m.removeOrphans((uid) => uid === "kept");
    expect(await fs.readdir(path.join(root, "kubelet/pods"))).toEqual([]);
    expect(await fs.readdir(path.join(root, "memory/pods"))).toEqual(["kept"]);
    expect(docker.removed).toEqual(["gone"]);
    await m.tearDown("kept");
    expect(await fs.readdir(path.join(root, "memory/pods"))).toEqual([]);
  });
});
