import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { ListValueSchema, StructSchema, ValueSchema, SourceCodeInfo_LocationSchema } from "@bufbuild/protobuf/wkt";
import "./kinds/index.js";
import { encodeMessage, hasCompiledEncoder } from "./binaryEncoder.js";
import { decodeObject } from "./codec.js";
import { allKinds } from "./registry.js";
import { PodLogOptionsSchema } from "./gen/kubelab/core/v1/podlogs_pb.js";
import { PodSchema, type Pod } from "./gen/kubelab/core/v1/pod_pb.js";
import { SecretSchema } from "./gen/kubelab/core/v1/config_pb.js";
import { WatchEventSchema } from "./gen/kubelab/apiserver/v1/api_pb.js";

/** encodeMessage must write exactly toBinary's bytes, and they must decode to the same message. */
function expectSameEncoding(schema: DescMessage, msg: Message): void {
  const want = toBinary(schema, msg as never);
  const got = encodeMessage(schema, msg);
  expect(Buffer.from(got).toString("hex")).toBe(Buffer.from(want).toString("hex"));
}

const podJson = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web-5d8f7c9b4-x2x9z",
    namespace: "default",
    uid: "0b8f2a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c",
    generation: 3,
    labels: { app: "web", "pod-template-hash": "5d8f7c9b4" },
    annotations: { note: "héllo wörld ✓ 😀", long: "ü".repeat(100), ascii: "a".repeat(200) },
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f7c9b4", uid: "u1", controller: true, blockOwnerDeletion: true },
    ],
    finalizers: ["kubelab.io/test"],
  },
  spec: {
    priority: -5,
    terminationGracePeriodSeconds: 0,
    securityContext: { runAsUser: 0, supplementalGroups: [1, 2, 300, 70000] },
    nodeSelector: { disk: "ssd" },
    containers: [
      {
        name: "app",
        image: "kubelab/echo:dev",
        command: ["sh", "-c"],
        args: ["echo", ""],
        ports: [{ name: "http", containerPort: 8080 }],
        env: [
          { name: "MODE", value: "bench" },
          { name: "EMPTY", value: "" },
        ],
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
        livenessProbe: { tcpSocket: { port: 8080 } },
      },
    ],
  },
};

describe("encodeMessage", () => {
  it("writes toBinary's bytes for a pod as users write it and as the server defaults it", () => {
    const pod = decodeObject(podJson).obj as Pod;
    expectSameEncoding(PodSchema, pod);
    allKinds().find((k) => k.kind === "Pod")!.defaults!(pod as never);
    expectSameEncoding(PodSchema, pod);
    expect(fromBinary(PodSchema, encodeMessage(PodSchema, pod))).toEqual(pod);
  });

  it("writes toBinary's bytes for an empty object of every kind", () => {
    for (const def of allKinds()) {
      expect(hasCompiledEncoder(def.schema), def.kind).toBe(true);
      expectSameEncoding(def.schema, create(def.schema));
    }
    expect(hasCompiledEncoder(WatchEventSchema)).toBe(true);
  });

  it("writes explicit-presence fields set to zero, and leaves implicit zeros out", () => {
    const pod = decodeObject(podJson).obj as Pod;
    expect(pod.spec!.terminationGracePeriodSeconds).toBe(0);
    const bytes = encodeMessage(PodSchema, pod);
    expect(fromBinary(PodSchema, bytes).spec!.terminationGracePeriodSeconds).toBe(0);
    expect(fromBinary(PodSchema, bytes).spec!.securityContext!.runAsUser).toBe(0);
  });

  it("writes every case of a oneof, recursive messages, and maps of bytes", () => {
    const value = create(ValueSchema, {
      kind: {
        case: "structValue",
        value: create(StructSchema, {
          fields: {
            n: { kind: { case: "numberValue", value: -0 } },
            z: { kind: { case: "numberValue", value: 0 } },
            s: { kind: { case: "stringValue", value: "" } },
            b: { kind: { case: "boolValue", value: false } },
            nil: { kind: { case: "nullValue", value: 0 } },
            l: { kind: { case: "listValue", value: create(ListValueSchema, { values: [{ kind: { case: "numberValue", value: 1.5 } }] }) } },
          },
        }),
      },
    });
    expectSameEncoding(ValueSchema, value);
    const secret = create(SecretSchema, { metadata: { name: "s" }, data: { empty: new Uint8Array(), bin: new Uint8Array([0, 255, 10]) } });
    expectSameEncoding(SecretSchema, secret);
  });

  it("writes strings with lone surrogates as toBinary does (U+FFFD)", () => {
    const pod = create(PodSchema, {
      metadata: { name: "\ud800x", annotations: { a: "x\udc00", b: `${"\ud83d\ude00".repeat(40)}\ud800` } },
    });
    expectSameEncoding(PodSchema, pod);
  });

  it("packs repeated numbers where the schema says so, as toBinary does", () => {
    expectSameEncoding(
      SourceCodeInfo_LocationSchema,
      create(SourceCodeInfo_LocationSchema, { path: [4, 0, 2, 300], span: [1, -2, 3], leadingComments: "c" }),
    );
  });

  it("keeps unknown fields", () => {
    const extra = Buffer.from([0xb8, 0x3e, 0x07, 0xc2, 0x3e, 0x02, 0x68, 0x69]); // fields 999 (varint 7) and 1000 ("hi")
    const pod = fromBinary(PodSchema, Buffer.concat([toBinary(PodSchema, decodeObject(podJson).obj as Pod), extra]));
    expect(pod.$unknown?.length).toBe(2);
    expectSameEncoding(PodSchema, pod);
  });

  it("passes pre-encoded bytes inside messages through (watch events)", () => {
    const object = { typeUrl: "type.googleapis.com/kubelab.core.v1.Pod", value: toBinary(PodSchema, decodeObject(podJson).obj as Pod) };
    expectSameEncoding(WatchEventSchema, create(WatchEventSchema, { type: "ADDED", object }));
  });

  it("leaves what it does not encode to toBinary: 64-bit fields, and ill-typed values with toBinary's error", () => {
    expect(hasCompiledEncoder(PodLogOptionsSchema)).toBe(false);
    expectSameEncoding(PodLogOptionsSchema, create(PodLogOptionsSchema, { name: "p", tailLines: 10n }));
    const bad = decodeObject(podJson).obj as Pod;
    (bad.spec!.containers[0]!.ports[0] as { containerPort: unknown }).containerPort = 1.5;
    expect(() => encodeMessage(PodSchema, bad)).toThrow(/cannot encode field kubelab.core.v1.ContainerPort.container_port to binary/);
  });
});
