import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ConfigMapSchema, PodSchema, SecretSchema, type Volume } from "@kubelab/api";
import { formatMap, volumePayload, type VolumeSources } from "./projections.js";

const pod = create(PodSchema, {
  metadata: { name: "web", namespace: "default", uid: "u1", labels: { app: "web", tier: 'a"b' }, annotations: {} },
  spec: { containers: [{ name: "app", image: "i", resources: { limits: { memory: "64Mi", cpu: "500m" } } }] },
});
const sources: VolumeSources = {
  configMaps: new Map([
    ["cfg", create(ConfigMapSchema, { data: { "app.conf": "a=1", other: "o" }, binaryData: { bin: new Uint8Array([1, 2]) } })],
  ]),
  secrets: new Map([["s", create(SecretSchema, { data: { password: new TextEncoder().encode("hunter2") } })]]),
};
const vol = (v: Partial<Volume>) => ({ name: "v", ...v }) as Volume;
const files = (p: ReturnType<typeof volumePayload>) =>
  Object.fromEntries([...p!].map(([k, f]) => [k, `${f.data.toString("latin1")} ${f.mode.toString(8)}`]));

describe("volume payloads, as Kubernetes' volume plugins project them", () => {
  it("writes every key of a ConfigMap (data and binaryData) with the default mode, or the items at their paths", () => {
    expect(files(volumePayload(pod, vol({ configMap: { name: "cfg", items: [], defaultMode: 0o640 } as never }), sources))).toEqual({
      "app.conf": "a=1 640",
      other: "o 640",
      bin: "\x01\x02 640",
    });
    expect(
      files(
        volumePayload(
          pod,
          vol({ configMap: { name: "cfg", items: [{ key: "app.conf", path: "conf/app", mode: 0o600 }] } as never }),
          sources,
        ),
      ),
    ).toEqual({ "conf/app": "a=1 600" });
  });

  it("refuses a missing object or key in the kubelet's words, unless optional", () => {
    expect(() => volumePayload(pod, vol({ configMap: { name: "nope", items: [] } as never }), sources)).toThrow(
      'configmap "nope" not found',
    );
    expect(() => volumePayload(pod, vol({ secret: { secretName: "nope", items: [] } as never }), sources)).toThrow(
      'secret "nope" not found',
    );
    expect(() => volumePayload(pod, vol({ configMap: { name: "cfg", items: [{ key: "k", path: "k" }] } as never }), sources)).toThrow(
      "configmap references non-existent config key: k",
    );
    expect(() => volumePayload(pod, vol({ secret: { secretName: "s", items: [{ key: "k", path: "k" }] } as never }), sources)).toThrow(
      "references non-existent secret key: k",
    );
    expect(files(volumePayload(pod, vol({ configMap: { name: "nope", items: [], optional: true } as never }), sources))).toEqual({});
  });

  it("projects labels, names and resources with the divisor (downwardAPI)", () => {
    const v = vol({
      downwardApi: {
        items: [
          { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
          { path: "app", fieldRef: { fieldPath: "metadata.labels['app']" } },
          { path: "name", fieldRef: { fieldPath: "metadata.name" } },
          { path: "mem", resourceFieldRef: { containerName: "app", resource: "limits.memory", divisor: "1Mi" } },
          { path: "cpu", resourceFieldRef: { containerName: "app", resource: "limits.cpu", divisor: "1m" } },
        ],
      } as never,
    });
    expect(files(volumePayload(pod, v, sources))).toEqual({
      labels: 'app="web"\ntier="a\\"b" 644',
      app: "web 644",
      name: "web 644",
      mem: "64 644",
      cpu: "500 644",
    });
  });

  it("puts a projected volume's sources into one directory", () => {
    const v = vol({
      projected: {
        defaultMode: 0o600,
        sources: [
          { configMap: { name: "cfg", items: [{ key: "other", path: "other" }] } },
          { secret: { name: "s", items: [] } },
          { downwardApi: { items: [{ path: "ns", fieldRef: { fieldPath: "metadata.namespace" } }] } },
        ],
      } as never,
    });
    expect(files(volumePayload(pod, v, sources))).toEqual({ other: "o 600", password: "hunter2 600", ns: "default 600" });
  });

  it("formats maps as Kubernetes' FormatMap", () => {
    expect(formatMap({ b: "2", a: "x\ny" })).toBe('a="x\\ny"\nb="2"');
  });
});
