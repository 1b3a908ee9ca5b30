import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema } from "@kubelab/api";
import { binds, runtimeSpec, specHash } from "./containerSpec.js";
import type { MountSource } from "../volumes/volumeManager.js";

const pod = create(PodSchema, {
  metadata: { name: "p", namespace: "default", uid: "u1" },
  spec: {
    terminationGracePeriodSeconds: 7,
    volumes: [{ name: "scratch", emptyDir: {} }],
    containers: [
      {
        name: "app",
        image: "kubelab/echo:dev",
        command: ["sh", "-c"],
        args: ["echo $(GREETING)"],
        resources: { requests: { cpu: "250m" }, limits: { cpu: "500m", memory: "64Mi" } },
        volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
      },
    ],
  },
});

describe("runtimeSpec", () => {
  it("maps command/args to entrypoint/cmd with expansion, and resources to cgroup settings", () => {
    const scratch: MountSource = {
      kind: "dockerVolume",
      name: "kubelab-u1-scratch",
      hostPath: "/var/lib/docker/volumes/kubelab-u1-scratch/_data",
    };
    const s = runtimeSpec(pod, pod.spec!.containers[0]!, "app", 2, ["GREETING=hi"], new Map([["scratch", scratch]]));
    expect(s.entrypoint).toEqual(["sh", "-c"]);
    expect(s.cmd).toEqual(["echo hi"]);
    expect(s.nanoCpus).toBe(500_000_000);
    expect(s.cpuShares).toBe(256);
    expect(s.memoryBytes).toBe(64 * 1024 * 1024);
    expect(s.gracePeriod).toBe(7);
    expect(s.attempt).toBe(2);
    expect(s.binds).toEqual(["kubelab-u1-scratch:/scratch"]);
  });

  it("leaves the image's entrypoint when command is empty and names a missing volume", () => {
    const c = create(PodSchema, { spec: { containers: [{ name: "x", image: "i", volumeMounts: [{ name: "nope", mountPath: "/n" }] }] } })
      .spec!.containers[0]!;
    expect(() => runtimeSpec(pod, c, "app", 0, [])).toThrow(/volume "nope" not found/);
    const plain = create(PodSchema, { spec: { containers: [{ name: "x", image: "i" }] } }).spec!.containers[0]!;
    const s = runtimeSpec(pod, plain, "app", 0, []);
    expect(s.entrypoint).toBeUndefined();
    expect(s.cmd).toBeUndefined();
    expect(s.cpuShares).toBe(2);
  });

  it("hashes the spec so a changed image means a new container", () => {
    const a = pod.spec!.containers[0]!;
    const b = { ...a, image: "kubelab/echo:v2" };
    expect(specHash(a)).not.toBe(specHash(b));
    expect(specHash(a)).toBe(specHash({ ...a }));
  });

  it("binds volumes: a Docker volume by name, a subPath (or subPathExpr) below its host path, API data read-only", () => {
    const p = create(PodSchema, {
      metadata: { name: "p", namespace: "default", uid: "u1" },
      spec: {
        volumes: [
          { name: "scratch", emptyDir: {} },
          { name: "cfg", configMap: { name: "c" } },
          { name: "logs", hostPath: { path: "/var/log" } },
        ],
        containers: [
          {
            name: "app",
            image: "i",
            volumeMounts: [
              { name: "scratch", mountPath: "/s" },
              { name: "scratch", mountPath: "/t", subPath: "a/b" },
              { name: "cfg", mountPath: "/etc/app" },
              { name: "cfg", mountPath: "/etc/app.conf", subPath: "app.conf" },
              { name: "logs", mountPath: "/logs", subPathExpr: "$(POD_NAME)", readOnly: true, mountPropagation: "HostToContainer" },
            ],
          },
        ],
      },
    });
    const mounts = new Map<string, MountSource>([
      ["scratch", { kind: "dockerVolume", name: "kubelab-u1-scratch", hostPath: "/vols/kubelab-u1-scratch/_data" }],
      ["cfg", { kind: "path", hostPath: "/vols/kubelet/_data/pods/u1/volumes/kubernetes.io~configmap/cfg" }],
      ["logs", { kind: "path", hostPath: "/merged/var/log" }],
    ]);
    expect(binds(p, p.spec!.containers[0]!, mounts, new Map([["POD_NAME", "p"]]))).toEqual([
      "kubelab-u1-scratch:/s",
      "/vols/kubelab-u1-scratch/_data/a/b:/t",
      "/vols/kubelet/_data/pods/u1/volumes/kubernetes.io~configmap/cfg:/etc/app:ro",
      "/vols/kubelet/_data/pods/u1/volumes/kubernetes.io~configmap/cfg/app.conf:/etc/app.conf:ro",
      "/merged/var/log/p:/logs:ro,rslave",
    ]);
  });
});
