import { create, createFileRegistry } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { DeploymentSchema } from "../gen/kubelab/apps/v1/apps_pb.js";
import { ServiceSchema } from "../gen/kubelab/core/v1/service_pb.js";
import { pruneEmptyUnknownFields } from "./prune.js";

describe("pruneEmptyUnknownFields", () => {
  it("drops the empty fields the message does not have: '', 0, false, null, [], and objects of nothing else", () => {
    const pruned = pruneEmptyUnknownFields(DeploymentSchema, {
      metadata: { name: "d", selfLink: "", generation: 0 },
      spec: { replicas: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 },
      status: { terminatingReplicas: 0 },
      nothing: { deeper: { still: [], flag: false, none: null } },
    });
    expect(pruned).toEqual({
      metadata: { name: "d", generation: 0 },
      spec: { replicas: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 },
      status: {},
    });
  });

  it("keeps an unknown field with a value, for the strict decoder to name", () => {
    const pruned = pruneEmptyUnknownFields(DeploymentSchema, {
      metadata: { name: "d", selfLink: "/apis/apps/v1/x" },
      extra: { a: "", b: 1 },
      items: [{}],
    });
    expect(pruned).toEqual({ metadata: { name: "d", selfLink: "/apis/apps/v1/x" }, extra: { a: "", b: 1 }, items: [{}] });
  });

  it("keeps the empty values of fields the message has", () => {
    const service = { spec: { clusterIP: "", ports: [{ name: "", port: 80, nodePort: 0 }], selector: {} }, status: {} };
    expect(pruneEmptyUnknownFields(ServiceSchema, service)).toEqual(service);
  });

  it("prunes inside lists of messages, and leaves an IntOrString as it is", () => {
    const pruned = pruneEmptyUnknownFields(ServiceSchema, {
      spec: {
        ports: [
          { port: 80, targetPort: 8080, hostIP: "" },
          { port: 81, targetPort: "http" },
        ],
      },
    });
    expect(pruned).toEqual({
      spec: {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 81, targetPort: "http" },
        ],
      },
    });
  });

  it("prunes inside maps of messages, keeping every key", () => {
    const pruned = pruneEmptyUnknownFields(mapHolderSchema, { byName: { a: { name: "x", uid: "" }, b: { uid: "" } } });
    expect(pruned).toEqual({ byName: { a: { name: "x" }, b: {} } });
  });
});

/** message Holder { map<string, Item> by_name = 1; } message Item { string name = 1; }: no kind has a map of messages. */
const mapHolderSchema = (() => {
  const { OPTIONAL: optional, REPEATED: repeated } = FieldDescriptorProto_Label;
  const { STRING: string, MESSAGE: message } = FieldDescriptorProto_Type;
  const file = create(FileDescriptorProtoSchema, {
    name: "holder.proto",
    package: "t",
    syntax: "proto3",
    messageType: [
      {
        name: "Holder",
        field: [{ name: "by_name", jsonName: "byName", number: 1, label: repeated, type: message, typeName: ".t.Holder.ByNameEntry" }],
        nestedType: [
          {
            name: "ByNameEntry",
            options: { mapEntry: true },
            field: [
              { name: "key", jsonName: "key", number: 1, label: optional, type: string },
              { name: "value", jsonName: "value", number: 2, label: optional, type: message, typeName: ".t.Item" },
            ],
          },
        ],
      },
      { name: "Item", field: [{ name: "name", jsonName: "name", number: 1, label: optional, type: string }] },
    ],
  });
  return createFileRegistry(file, () => undefined).getMessage("t.Holder")!;
})();
