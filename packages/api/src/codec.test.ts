import { describe, expect, it } from "vitest";
import "./kinds/index.js";
import { type DecodeError, decodeObject, objectToJson, packObject, unpackObject } from "./codec.js";
import { QUANTITY_REGEX_MESSAGE } from "./quantity.js";
import type { Pod } from "./gen/kubelab/core/v1/pod_pb.js";

const podJson = (container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p" },
  spec: { containers: [{ name: "c", image: "x", ...container }] },
  ...extra,
});

describe("decodeObject", () => {
  it("names every unknown field by its full path", () => {
    expect(() => decodeObject(podJson({ imagee: "x" }, { extra: 1 }))).toThrow(
      'Pod "p" is invalid: strict decoding error: unknown field "spec.containers[0].imagee", unknown field "extra"',
    );
  });

  it("names ill-typed values", () => {
    expect(() => decodeObject(podJson({ image: 123, ports: { a: 1 }, stdin: "yes" }))).toThrow(
      'Pod "p" is invalid: [spec.containers[0].image: Invalid value: 123: expected a string, spec.containers[0].ports: Invalid value: {"a":1}: expected a list, spec.containers[0].stdin: Invalid value: "yes": expected a boolean (true or false)]',
    );
  });

  it("takes quantities as YAML numbers and ports as numbers or names", () => {
    const p = decodeObject(
      podJson({
        resources: { limits: { cpu: 2, memory: "1Gi" } },
        livenessProbe: { tcpSocket: { port: 8080 } },
        readinessProbe: { httpGet: { port: "http" } },
      }),
    ).obj as Pod;
    expect(p.spec!.containers[0].resources!.limits).toEqual({ cpu: "2", memory: "1Gi" });
    expect(p.spec!.containers[0].livenessProbe!.tcpSocket!.port!.kind).toEqual({ case: "numberValue", value: 8080 });
    expect(p.spec!.containers[0].readinessProbe!.httpGet!.port!.kind).toEqual({ case: "stringValue", value: "http" });
  });

  it("refuses a bad quantity as it decodes, with the words of Kubernetes' decoder", () => {
    const bad = () => decodeObject(podJson({ resources: { limits: { cpu: "abc" } } }));
    expect(bad).toThrow(`spec.containers[0].resources.limits[cpu]: Invalid value: "abc": quantities must match`);
    try {
      bad();
    } catch (e) {
      expect((e as DecodeError).decoderMessage).toBe(QUANTITY_REGEX_MESSAGE);
    }
    try {
      decodeObject(podJson({ image: 123 }));
    } catch (e) {
      expect((e as DecodeError).decoderMessage).toBe(
        "json: cannot unmarshal number into Go struct field Pod.spec.containers.image of type string",
      );
    }
  });

  it("drops unknown fields and lists them when asked to (fieldValidation Ignore and Warn)", () => {
    const { obj, unknownFields } = decodeObject(podJson({ imagee: "x" }, { extra: 1 }), { dropUnknownFields: true });
    expect(unknownFields).toEqual(["spec.containers[0].imagee", "extra"]);
    expect((obj as Pod).spec!.containers[0]!.image).toBe("x");
  });

  it("requires apiVersion and kind, and a known kind", () => {
    expect(() => decodeObject({ metadata: { name: "x" } })).toThrow(
      'Object "x" is invalid: [apiVersion: Required value, kind: Required value]',
    );
    expect(() => decodeObject({ apiVersion: "v1", kind: "Foo" })).toThrow('no matches for kind "Foo" in version "v1"');
    expect(() => decodeObject({ apiVersion: "apps/v2", kind: "Pod" })).toThrow('no matches for kind "Pod" in version "apps/v2"');
    expect(() => decodeObject("text")).toThrow("object must be a mapping with apiVersion and kind");
  });

  it("takes Kubernetes' spelling of IP fields and gives it back", () => {
    const p = decodeObject(
      podJson(
        { ports: [{ containerPort: 80, hostIP: "127.0.0.1" }] },
        { status: { podIP: "10.0.0.1", podIPs: [{ ip: "10.0.0.1" }], containerStatuses: [{ name: "c", containerID: "docker://1" }] } },
      ),
    ).obj;
    const json = objectToJson(p) as {
      spec: { containers: Array<{ ports: Array<Record<string, unknown>> }> };
      status: Record<string, unknown>;
    };
    expect(json.spec.containers[0].ports[0].hostIP).toBe("127.0.0.1");
    expect(json.status.podIP).toBe("10.0.0.1");
    expect(json.status.podIPs).toEqual([{ ip: "10.0.0.1" }]);
    expect((json.status.containerStatuses as Array<Record<string, unknown>>)[0].containerID).toBe("docker://1");
  });

  it("decodes Secret data as base64 and rejects what is not", () => {
    const s = decodeObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "aGk=" } }).obj as unknown as {
      data: Record<string, Uint8Array>;
    };
    expect(Buffer.from(s.data.k).toString()).toBe("hi");
    expect(() => decodeObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "not base64!" } })).toThrow(
      'data[k]: Invalid value: "<secret data>": illegal base64 data',
    );
  });

  it("round-trips through Any and JSON", () => {
    const p = decodeObject(podJson({ args: ["a", "b"] }, { metadata: { name: "p", labels: { a: "b" } } })).obj;
    const back = unpackObject(packObject(p));
    expect(objectToJson(back)).toEqual(objectToJson(p));
    expect(objectToJson(p)).toMatchObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { a: "b" } } });
  });
});
