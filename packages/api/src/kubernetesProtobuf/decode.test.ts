import { readFileSync } from "node:fs";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import "../kinds/index.js";
import { decodeObject, objectToJson } from "../codec.js";
import { kindFor, storedKinds } from "../registry.js";
import { KubernetesProtobufError, decodeKubernetesProtobuf } from "./decode.js";
import { kubernetesProtobufRoots } from "./fields.generated.js";
import { pruneEmptyUnknownFields } from "./prune.js";

/** Bodies kubectl v1.32 sent (kubectlBodies.json says how each was captured). */
const kubectlBodies = JSON.parse(readFileSync(new URL("./kubectlBodies.json", import.meta.url), "utf8")) as Record<
  string,
  { command: string; base64: string }
>;
const kubectlBody = (name: string) => new Uint8Array(Buffer.from(kubectlBodies[name]!.base64, "base64"));

/** What kubectl sends for each as JSON (`kubectl create … --dry-run=client -o json`), less `creationTimestamp: null`. */
const kubectlJson: Record<string, Record<string, unknown>> = {
  configMap: {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c1" },
    data: { a: "b" },
    binaryData: { blob: "AAH+/2t1YmVsYWKA" },
  },
  secret: { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" }, data: { password: "eA==" } },
  deployment: {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d1", labels: { app: "d1" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "d1" } },
      template: {
        metadata: { labels: { app: "d1" } },
        spec: { containers: [{ name: "nginx", image: "nginx:1.27", ports: [{ containerPort: 80 }], resources: {} }] },
      },
      strategy: {},
    },
    status: {},
  },
  namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: "n1" }, spec: {}, status: {} },
  job: {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j1" },
    spec: {
      template: {
        metadata: {},
        spec: { containers: [{ name: "j1", image: "busybox", command: ["echo", "hi"], resources: {} }], restartPolicy: "Never" },
      },
    },
    status: {},
  },
  nodePortService: {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s2", labels: { app: "s2" } },
    spec: { ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }], selector: { app: "s2" }, type: "NodePort" },
    status: { loadBalancer: {} },
  },
  namedTargetPortService: {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s4", labels: { app: "s4" } },
    spec: { ports: [{ name: "80-http", protocol: "TCP", port: 80, targetPort: "http" }], selector: { app: "s4" }, type: "ClusterIP" },
    status: { loadBalancer: {} },
  },
  cronJob: {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "cj1" },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        metadata: { name: "cj1" },
        spec: {
          template: {
            metadata: {},
            spec: { containers: [{ name: "cj1", image: "busybox", command: ["echo", "hi"], resources: {} }], restartPolicy: "OnFailure" },
          },
        },
      },
    },
    status: {},
  },
  // No --dry-run for these two: written from the requests kubectl makes.
  tokenRequest: {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: {},
    spec: { expirationSeconds: 600 },
    status: {},
  },
  selfSubjectAccessReview: {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    metadata: {},
    spec: { resourceAttributes: { namespace: "default", verb: "create", resource: "pods" } },
    status: {},
  },
};

/** The value less Go's empty values ("", 0, false, null, {}, []), which Kubernetes' JSON leaves out and protobuf writes. */
function withoutEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmpty);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kept = withoutEmpty(v);
    const empty =
      kept === "" ||
      kept === 0 ||
      kept === false ||
      kept === null ||
      (Array.isArray(kept) && !kept.length) ||
      (typeof kept === "object" && kept !== null && !Object.keys(kept).length);
    if (!empty) out[k] = kept;
  }
  return out;
}

// Hand-made bytes for what kubectl does not send: a message is its fields by number (Kubernetes'
// numbers, from generated.proto); a list value is a repeated field, written one by one.
type Wire = number | string | Uint8Array | Fields | Wire[];
interface Fields {
  [field: number]: Wire;
}
function message(fields: Fields): Uint8Array {
  const w = new BinaryWriter();
  const write = (n: number, v: Wire) => {
    if (Array.isArray(v)) for (const item of v) write(n, item);
    else if (typeof v === "number") w.tag(n, WireType.Varint).int64(v);
    else if (typeof v === "string") w.tag(n, WireType.LengthDelimited).string(v);
    else w.tag(n, WireType.LengthDelimited).bytes(v instanceof Uint8Array ? v : message(v));
  };
  for (const [n, v] of Object.entries(fields)) write(Number(n), v);
  return w.finish();
}
const MAGIC = [0x6b, 0x38, 0x73, 0x00];
/** A whole body: the magic bytes, then a runtime.Unknown of typeMeta (1) and raw (2). */
const body = (apiVersion: string, kind: string, raw: Fields | Uint8Array) =>
  Uint8Array.of(...MAGIC, ...message({ 1: { 1: apiVersion, 2: kind }, 2: raw instanceof Uint8Array ? raw : message(raw) }));

describe("decodeKubernetesProtobuf on what kubectl create sends", () => {
  it.each(Object.keys(kubectlJson))("decodes %s into the JSON kubectl sends for it, but for Go's empty values", (name) => {
    const decoded = decodeKubernetesProtobuf(kubectlBody(name));
    const expected = kubectlJson[name]!;
    expect([decoded.apiVersion, decoded.kind]).toEqual([expected.apiVersion, expected.kind]);
    expect(withoutEmpty(decoded.object)).toEqual(withoutEmpty(expected));
  });

  it("keeps the empty values Go writes for fields that are not pointers; a zero Time is not written", () => {
    expect(decodeKubernetesProtobuf(kubectlBody("configMap")).object).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c1", generateName: "", namespace: "", selfLink: "", uid: "", resourceVersion: "", generation: 0 },
      data: { a: "b" },
      binaryData: { blob: "AAH+/2t1YmVsYWKA" },
    });
  });

  it.each(["configMap", "secret", "deployment", "namespace", "job", "nodePortService", "namedTargetPortService"])(
    "makes of %s, pruned against our kind's message, the object its JSON makes",
    (name) => {
      const { apiVersion, kind, object } = decodeKubernetesProtobuf(kubectlBody(name));
      const def = kindFor(apiVersion, kind)!;
      const fromProtobuf = decodeObject(pruneEmptyUnknownFields(def.schema, object)).obj;
      expect(objectToJson(fromProtobuf)).toEqual(objectToJson(decodeObject(kubectlJson[name]).obj));
    },
  );

  it("refuses a kind it has no fields for, naming it", () => {
    const err = catchError(() => decodeKubernetesProtobuf(kubectlBody("priorityClass")));
    expect(err.message).toBe('no kind "PriorityClass" is registered for version "scheduling.k8s.io/v1"');
    expect(err.sent).toEqual({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass" });
  });
});

describe("decodeKubernetesProtobuf on Kubernetes' special types", () => {
  const jan2 = 1_704_164_645; // 2024-01-02T03:04:05Z

  it("writes a Time as RFC 3339 in whole seconds and a MicroTime with microseconds; an empty one is left out", () => {
    // Event: firstTimestamp 6 and lastTimestamp 7 (Time), eventTime 10 (MicroTime); each {1 seconds, 2 nanos}.
    const event = body("v1", "Event", { 6: { 1: jan2, 2: 999_999_999 }, 7: {}, 10: { 1: jan2, 2: 123_456_789 } });
    expect(decodeKubernetesProtobuf(event).object).toEqual({
      apiVersion: "v1",
      kind: "Event",
      firstTimestamp: "2024-01-02T03:04:05Z",
      eventTime: "2024-01-02T03:04:05.123456Z",
    });
  });

  it("writes quantities as their strings, in maps of them", () => {
    // Node status 3, its capacity 1: map entries {1 key, 2 Quantity {1 string}}.
    const node = body("v1", "Node", {
      3: {
        1: [
          { 1: "cpu", 2: { 1: "4" } },
          { 1: "memory", 2: { 1: "8Gi" } },
        ],
      },
    });
    expect(decodeKubernetesProtobuf(node).object.status).toEqual({ capacity: { cpu: "4", memory: "8Gi" } });
  });

  it("reads repeated numbers packed and one by one alike", () => {
    // Job spec 2, podFailurePolicy 11, rules 1, onExitCodes 2, values 3 ([]int32).
    const exitCodes = (values: Wire) =>
      decodeKubernetesProtobuf(body("batch/v1", "Job", { 2: { 11: { 1: { 2: { 3: values } } } } })).object.spec;
    const expected = { podFailurePolicy: { rules: [{ onExitCodes: { values: [1, -2, 300] } }] } };
    expect(exitCodes(new BinaryWriter().int32(1).int32(-2).int32(300).finish())).toEqual(expected);
    expect(exitCodes([1, -2, 300])).toEqual(expected);
  });

  it("takes an options kind in any group version: int64 as a number, strings listed", () => {
    const opts = body("apps/v1", "DeleteOptions", { 1: 30, 4: "Foreground", 5: ["All"] });
    expect(decodeKubernetesProtobuf(opts).object).toEqual({
      apiVersion: "apps/v1",
      kind: "DeleteOptions",
      gracePeriodSeconds: 30,
      propagationPolicy: "Foreground",
      dryRun: ["All"],
    });
  });

  it("parses managed fields' JSON, and unwraps a list Go wraps in a message", () => {
    // metadata 1, managedFields 17, fieldsV1 7 {1 Raw}; spec 2, attestations 5: map of AttestationValue {1 items}.
    const token = body("authentication.k8s.io/v1", "TokenRequest", {
      1: { 17: [{ 7: { 1: new TextEncoder().encode('{"f:data":{}}') } }] },
      2: { 5: [{ 1: "tpm", 2: { 1: ["a", "b"] } }] },
    });
    const { object } = decodeKubernetesProtobuf(token);
    expect(object.metadata).toEqual({ managedFields: [{ fieldsV1: { "f:data": {} } }] });
    expect(object.spec).toEqual({ attestations: { tpm: ["a", "b"] } });
  });

  it("skips fields it does not know, as Go's generated code does", () => {
    const cm = body("v1", "ConfigMap", { 1: { 1: "c" }, 99: "from a newer Kubernetes" });
    expect(decodeKubernetesProtobuf(cm).object).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
  });
});

describe("decodeKubernetesProtobuf on what is not a body, in apimachinery's words", () => {
  const configMap = kubectlBody("configMap");
  it.each([
    ["no bytes", new Uint8Array(0), "empty data"],
    [
      "JSON",
      new TextEncoder().encode('{"kind":"ConfigMap"}'),
      "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
    ],
    ["the magic bytes alone", Uint8Array.of(0x6b, 0x38, 0x73, 0x00), "empty body"],
    ["a body cut short", configMap.subarray(0, configMap.length - 12), "unexpected EOF"],
  ])("refuses %s, with no kind to name", (_, bytes, message) => {
    const err = catchError(() => decodeKubernetesProtobuf(bytes));
    expect([err.message, err.sent]).toEqual([message, undefined]);
  });

  it("names the kind the envelope sent when the object in it is cut short", () => {
    // metadata (field 1) says 10 bytes, and 2 follow.
    const err = catchError(() => decodeKubernetesProtobuf(body("v1", "ConfigMap", Uint8Array.of(0x0a, 0x0a, 0x0a, 0x00))));
    expect([err.message, err.sent]).toEqual(["unexpected EOF", { apiVersion: "v1", kind: "ConfigMap" }]);
  });

  it("refuses a field of the wrong wire type, as gogo-protobuf's code does", () => {
    const err = catchError(() => decodeKubernetesProtobuf(body("v1", "ConfigMap", { 1: 5 })));
    expect(err.message).toBe("proto: wrong wireType = 0 for field metadata");
  });

  it("takes a kind or apiVersion the envelope leaves out from the URL's, and without one says it is missing", () => {
    const bare = Uint8Array.of(...MAGIC, ...message({ 2: message({ 1: { 1: "c" } }) }));
    expect(decodeKubernetesProtobuf(bare, { apiVersion: "v1", kind: "ConfigMap" }).object).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
    });
    expect(catchError(() => decodeKubernetesProtobuf(bare)).message).toBe(`Object 'Kind' is missing in '{}'`);
  });
});

describe("the field table", () => {
  it("has a root for every kind the API server stores", () => {
    const missing = storedKinds().filter((def) => !kubernetesProtobufRoots[`${def.apiVersion}/${def.kind}`]);
    expect(missing.map((def) => def.kind)).toEqual([]);
  });
});

function catchError(f: () => unknown): KubernetesProtobufError {
  try {
    f();
  } catch (e) {
    if (e instanceof KubernetesProtobufError) return e;
    throw e;
  }
  throw new Error("no error thrown");
}
