import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { AnySchema, ListValueSchema, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import "./kinds/index.js";
import { decodeMessage, hasCompiledDecoder } from "./binaryDecoder.js";
import { decodeObject } from "./codec.js";
import { allKinds } from "./registry.js";
import { PodSchema, type Pod } from "./gen/kubelab/core/v1/pod_pb.js";
import { SecretSchema } from "./gen/kubelab/core/v1/config_pb.js";
import { ObjectMetaSchema } from "./gen/kubelab/meta/v1/meta_pb.js";
import { PodLogOptionsSchema } from "./gen/kubelab/core/v1/podlogs_pb.js";
import { WatchEventSchema } from "./gen/kubelab/apiserver/v1/api_pb.js";

/** decodeMessage must return what fromBinary returns, or throw what it throws. */
function expectSameDecoding(schema: DescMessage, bytes: Uint8Array): void {
  let want: unknown;
  try {
    want = fromBinary(schema, bytes);
  } catch (e) {
    expect(() => decodeMessage(schema, bytes)).toThrow((e as Error).message);
    return;
  }
  expect(decodeMessage(schema, bytes)).toStrictEqual(want);
}

const pod = () =>
  decodeObject({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-1",
      namespace: "default",
      uid: "u",
      labels: { app: "web" },
      annotations: { note: "héllo ✓ 😀", long: "ü".repeat(100) },
    },
    spec: {
      priority: -5,
      terminationGracePeriodSeconds: 0,
      securityContext: { supplementalGroups: [1, 300, 70000] },
      containers: [
        {
          name: "app",
          image: "kubelab/echo:dev",
          ports: [{ name: "http", containerPort: 8080 }],
          env: [{ name: "E", value: "" }],
          resources: { limits: { cpu: "200m" } },
          readinessProbe: { httpGet: { path: "/", port: "http" } },
          livenessProbe: { tcpSocket: { port: 8080 } },
        },
      ],
    },
  }).obj as Pod;

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe("decodeMessage", () => {
  it("decodes every kind here, and a pod to what fromBinary makes", () => {
    for (const def of allKinds()) {
      expect(hasCompiledDecoder(def.schema), def.kind).toBe(true);
      expectSameDecoding(def.schema, toBinary(def.schema, create(def.schema)));
    }
    expectSameDecoding(PodSchema, toBinary(PodSchema, pod()));
    expect(decodeMessage(PodSchema, toBinary(PodSchema, pod()))).toStrictEqual(pod());
  });

  it("merges a message field that occurs twice, and takes the last scalar", () => {
    const suffix = toBinary(PodSchema, create(PodSchema, { metadata: { resourceVersion: "42", name: "renamed" } }));
    const bytes = concat(toBinary(PodSchema, pod()), suffix);
    expectSameDecoding(PodSchema, bytes);
    const p = decodeMessage(PodSchema, bytes);
    expect(p.metadata).toMatchObject({ resourceVersion: "42", name: "renamed", uid: "u", labels: { app: "web" } });
  });

  it("reads oneofs, recursive messages, maps of bytes (as views) and Any", () => {
    const value = create(ValueSchema, {
      kind: {
        case: "structValue",
        value: create(StructSchema, {
          fields: {
            n: { kind: { case: "numberValue", value: -1.5 } },
            s: { kind: { case: "stringValue", value: "" } },
            nil: { kind: { case: "nullValue", value: 0 } },
            l: { kind: { case: "listValue", value: create(ListValueSchema, { values: [{ kind: { case: "boolValue", value: true } }] }) } },
          },
        }),
      },
    });
    expectSameDecoding(ValueSchema, toBinary(ValueSchema, value));
    const secret = toBinary(
      SecretSchema,
      create(SecretSchema, { metadata: { name: "s" }, data: { empty: new Uint8Array(), bin: new Uint8Array([0, 255]) } }),
    );
    expectSameDecoding(SecretSchema, secret);
    expectSameDecoding(AnySchema, toBinary(AnySchema, create(AnySchema, { typeUrl: "type.googleapis.com/x", value: secret })));
    expectSameDecoding(
      WatchEventSchema,
      toBinary(WatchEventSchema, create(WatchEventSchema, { type: "ADDED", object: { typeUrl: "t", value: secret } })),
    );
  });

  it("reads repeated numbers packed or not, negative int32s, and bools written as long varints", () => {
    // PodSecurityContext.supplemental_groups (4) in PodSpec.security_context (17) in Pod.spec (4): unpacked.
    const groups = Buffer.from([0x20, 0x01, 0x20, 0x80, 0x02]);
    const spec = concat(Buffer.from([0x8a, 0x01, groups.length]), groups);
    expectSameDecoding(PodSchema, concat(Buffer.from([0x22, spec.length]), spec));
    expect(decodeMessage(PodSchema, concat(Buffer.from([0x22, spec.length]), spec)).spec!.securityContext!.supplementalGroups).toEqual([
      1, 256,
    ]);
    expectSameDecoding(PodSchema, toBinary(PodSchema, pod())); // packed, and priority -5
    // Container.stdin (bool, 19) as a ten-byte varint of 1 (its last byte zero), in PodSpec.containers (3).
    const container = Buffer.from([0x0a, 0x01, 0x63, 0x98, 0x01, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    const podSpec = concat(Buffer.from([0x1a, container.length]), container);
    const bytes = concat(Buffer.from([0x22, podSpec.length]), podSpec);
    expectSameDecoding(PodSchema, bytes);
    expect(decodeMessage(PodSchema, bytes).spec!.containers[0]!.stdin).toBe(true);
  });

  it("keeps unknown fields, and gives a map entry without a value its zero", () => {
    const extra = Buffer.from([0xb8, 0x3e, 0x07, 0xc2, 0x3e, 0x02, 0x68, 0x69, 0x9d, 0x3e, 1, 2, 3, 4]);
    expectSameDecoding(PodSchema, concat(toBinary(PodSchema, pod()), extra));
    expect(decodeMessage(PodSchema, concat(toBinary(PodSchema, pod()), extra)).$unknown).toHaveLength(3);
    const entry = Buffer.from([0x0a, 0x01, 0x6b]); // labels {"k": ""}
    const meta = concat(Buffer.from([0x52, entry.length]), entry); // ObjectMeta.labels = 10
    expectSameDecoding(ObjectMetaSchema, meta);
  });

  it("fails as fromBinary does on truncated input and invalid UTF-8", () => {
    const bytes = toBinary(PodSchema, pod());
    for (const cut of [1, 5, 17, bytes.length - 3]) expectSameDecoding(PodSchema, bytes.subarray(0, cut));
    const badName = Buffer.from([0x0a, 0x02, 0xc3, 0x28]); // ObjectMeta.name = 1, not UTF-8
    expect(() => fromBinary(ObjectMetaSchema, badName)).toThrow();
    expectSameDecoding(ObjectMetaSchema, badName);
  });

  it("leaves types with 64-bit fields to fromBinary", () => {
    expect(hasCompiledDecoder(PodLogOptionsSchema)).toBe(false);
    expectSameDecoding(PodLogOptionsSchema, toBinary(PodLogOptionsSchema, create(PodLogOptionsSchema, { name: "p", tailLines: 10n })));
  });
});
