import { describe, expect, it } from "vitest";
import "./index.js";
import { decodeObject } from "../codec.js";
import { kindFor } from "../registry.js";
import type { Pod } from "../gen/kubelab/core/v1/pod_pb.js";

const podDef = kindFor("v1", "Pod")!;

function errors(volumes: unknown[], volumeMounts: unknown[] = []): string[] {
  const p = decodeObject({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default" },
    spec: { volumes, containers: [{ name: "app", image: "nginx:1.25", volumeMounts }] },
  }).obj as Pod;
  podDef.defaults!(p);
  return podDef.validate!(p).map(String);
}

describe("volume validation, in Kubernetes' words", () => {
  it("accepts every source this kubelet mounts", () => {
    expect(
      errors(
        [
          { name: "a", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
          { name: "b", hostPath: { path: "/var/log", type: "DirectoryOrCreate" } },
          { name: "c", configMap: { name: "cfg", items: [{ key: "k", path: "dir/k", mode: 0o600 }], optional: true } },
          { name: "d", secret: { secretName: "s", defaultMode: 0o400 } },
          { name: "e", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
          {
            name: "f",
            projected: {
              sources: [
                { configMap: { name: "cfg" } },
                { secret: { name: "s", items: [{ key: "k", path: "s/k" }] } },
                {
                  downwardAPI: {
                    items: [
                      { path: "team", fieldRef: { fieldPath: "metadata.labels['team']" } },
                      { path: "mem", resourceFieldRef: { containerName: "app", resource: "limits.memory", divisor: "1Mi" } },
                    ],
                  },
                },
              ],
            },
          },
          { name: "g", persistentVolumeClaim: { claimName: "data" } },
        ],
        [
          { name: "a", mountPath: "/a" },
          { name: "b", mountPath: "/b", subPath: "app", readOnly: true },
        ],
      ),
    ).toEqual([]);
  });

  it("checks names: DNS labels, no duplicates", () => {
    const errs = errors([
      { name: "Data", emptyDir: {} },
      { name: "x", emptyDir: {} },
      { name: "x", emptyDir: {} },
    ]);
    expect(errs[0]).toMatch(/^spec\.volumes\[0\]\.name: Invalid value: "Data": a lowercase RFC 1123 label must consist of/);
    expect(errs[1]).toBe('spec.volumes[2].name: Duplicate value: "x"');
  });

  it("takes one source per volume, naming the second", () => {
    expect(errors([{ name: "x", emptyDir: {}, hostPath: { path: "/x" } }])).toEqual([
      "spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type",
    ]);
  });

  it("checks mounts: a known volume, a unique mountPath, a relative subPath without '..'", () => {
    expect(
      errors(
        [{ name: "data", emptyDir: {} }],
        [
          { name: "x", mountPath: "/x" },
          { name: "data", mountPath: "" },
          { name: "data", mountPath: "/d", subPath: "/abs" },
          { name: "data", mountPath: "/d", subPath: "a/../b" },
          { name: "data", mountPath: "/e", subPath: "a", subPathExpr: "$(POD)" },
        ],
      ),
    ).toEqual([
      'spec.containers[0].volumeMounts[0].name: Not found: "x"',
      "spec.containers[0].volumeMounts[1].mountPath: Required value",
      'spec.containers[0].volumeMounts.subPath: Invalid value: "/abs": must be a relative path',
      'spec.containers[0].volumeMounts[3].mountPath: Invalid value: "/d": must be unique',
      "spec.containers[0].volumeMounts.subPath: Invalid value: \"a/../b\": must not contain '..'",
      'spec.containers[0].volumeMounts[4].subPathExpr: Invalid value: "$(POD)": subPathExpr and subPath are mutually exclusive',
    ]);
  });

  it("checks items, modes and names of configMap and secret volumes", () => {
    expect(
      errors([
        { name: "c", configMap: { items: [{ key: "", path: "..data" }], defaultMode: 0o1000 } },
        { name: "s", secret: { items: [{ key: "k", path: "/etc/k", mode: -1 }] } },
      ]),
    ).toEqual([
      "spec.volumes[0].configMap.name: Required value",
      "spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
      "spec.volumes[0].configMap.items[0].key: Required value",
      "spec.volumes[0].configMap.items[0].path: Invalid value: \"..data\": must not start with '..'",
      "spec.volumes[1].secret.secretName: Required value",
      'spec.volumes[1].secret.items[0].path: Invalid value: "/etc/k": must be a relative path',
      "spec.volumes[1].secret.items[0].mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive",
    ]);
  });

  it("checks hostPath's path and type, and emptyDir's sizeLimit", () => {
    expect(
      errors([
        { name: "h", hostPath: { path: "", type: "Dir" } },
        { name: "e", emptyDir: { sizeLimit: "-1Mi" } },
      ]),
    ).toEqual([
      "spec.volumes[0].hostPath.path: Required value",
      'spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"',
      "spec.volumes[1].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
    ]);
  });

  it("checks downwardAPI files and projected sources", () => {
    expect(
      errors([
        {
          name: "d",
          downwardAPI: {
            items: [
              { path: "ip", fieldRef: { fieldPath: "status.podIP" } },
              { path: "none" },
              { path: "cpu", resourceFieldRef: { resource: "limits.gpu" } },
            ],
          },
        },
        { name: "p", projected: { sources: [{}, { configMap: { name: "a" }, secret: { name: "b" } }] } },
      ]),
    ).toEqual([
      'spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: "status.podIP": supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"',
      "spec.volumes[0].downwardAPI.items[1]: Required value: one of fieldRef and resourceFieldRef is required",
      "spec.volumes[0].downwardAPI.items[2].resourceFieldRef.containerName: Required value",
      'spec.volumes[0].downwardAPI.items[2].resourceFieldRef.resource: Unsupported value: "limits.gpu": supported values: "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"',
      "spec.volumes[1].projected.sources[0]: Required value: must specify exactly 1 volume type",
      "spec.volumes[1].projected.sources[1]: Forbidden: may not specify more than 1 volume type per source",
    ]);
  });

  it("defaults a volume without a source to an emptyDir, and file modes to 0644", () => {
    const p = decodeObject({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "default" },
      spec: { volumes: [{ name: "x" }, { name: "d", downwardAPI: {} }], containers: [{ name: "app", image: "nginx" }] },
    }).obj as Pod;
    podDef.defaults!(p);
    expect(p.spec!.volumes[0]!.emptyDir).toBeDefined();
    expect(p.spec!.volumes[1]!.downwardApi!.defaultMode).toBe(0o644);
  });
});
