import { describe, expect, it } from "vitest";
import { clone } from "@bufbuild/protobuf";
import "../kinds/index.js";
import { decodeObject } from "../codec.js";
import { kindFor, type KubeObject } from "../registry.js";
import { PodSchema, type Pod } from "../gen/kubelab/core/v1/pod_pb.js";
import { invalidObjectMessage } from "./fieldErrors.js";
import { validateObjectMeta } from "./objectMeta.js";

const podDef = kindFor("v1", "Pod")!;

function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: "web", namespace: "default" }): Pod {
  const p = decodeObject({ apiVersion: "v1", kind: "Pod", metadata, spec }).obj as Pod;
  podDef.defaults!(p);
  return p;
}
const errors = (o: KubeObject) => [...validateObjectMeta(podDef, o), ...podDef.validate!(o)].map(String);
const app = (extra: Record<string, unknown> = {}) => ({ name: "app", image: "nginx:1.25", ...extra });

describe("pod validation, in Kubernetes' words", () => {
  it("accepts a plain pod", () => {
    expect(errors(pod({ containers: [app()] }))).toEqual([]);
  });

  it("requires containers and images", () => {
    expect(errors(pod({ containers: [] }))).toEqual(["spec.containers: Required value"]);
    expect(errors(pod({ containers: [{ name: "app" }] }))).toEqual(["spec.containers[0].image: Required value"]);
  });

  it("checks names as DNS-1123 subdomains (objects) and labels (containers)", () => {
    expect(errors(pod({ containers: [app()] }, { name: "Web_1", namespace: "default" }))).toEqual([
      `metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ]);
    expect(errors(pod({ containers: [app({ name: "App" })] }))[0]).toMatch(
      /^spec\.containers\[0\]\.name: Invalid value: "App": a lowercase RFC 1123 label must consist of/,
    );
    expect(errors(pod({ containers: [app(), app()] }))).toEqual(['spec.containers[1].name: Duplicate value: "app"']);
  });

  it("checks labels' keys and values", () => {
    const errs = errors(
      pod({ containers: [app()] }, { name: "web", namespace: "default", labels: { "bad key": "ok", good: "bad value!" } }),
    );
    expect(errs).toHaveLength(2);
    expect(errs[0]).toMatch(/^metadata\.labels: Invalid value: "bad key": name part must consist of alphanumeric characters/);
    expect(errs[1]).toMatch(/^metadata\.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of/);
  });

  it("lists unsupported values with the supported ones", () => {
    expect(errors(pod({ restartPolicy: "Sometimes", containers: [app({ imagePullPolicy: "Maybe" })] }))).toEqual([
      'spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it("checks ports, env, volume mounts and resources", () => {
    const p = pod({
      containers: [
        app({
          ports: [{ containerPort: 70000 }, { name: "http", containerPort: 80, protocol: "HTTP" }, { name: "http", containerPort: 81 }],
          env: [{ name: "A=B", value: "x" }],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
          resources: { requests: { cpu: "2" }, limits: { cpu: "1", memory: "1Gi" } },
        }),
      ],
    });
    // A bad quantity fails JSON decoding (see codec.test.ts); a message sent over gRPC reaches validation.
    p.spec!.containers[0]!.resources!.limits.memory = "lots";
    const errs = errors(p);
    expect(errs).toContain("spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive");
    expect(errs).toContain('spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "TCP", "UDP", "SCTP"');
    expect(errs).toContain('spec.containers[0].ports[2].name: Duplicate value: "http"');
    expect(errs).toContain(
      `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist of printable ASCII characters other than '='`,
    );
    expect(errs).toContain('spec.containers[0].volumeMounts[0].name: Not found: "data"');
    expect(errs).toContain(
      `spec.containers[0].resources.limits[memory]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
    expect(errs).toContain('spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1');
  });

  it("checks probes and tolerations", () => {
    const errs = errors(
      pod({
        containers: [app({ livenessProbe: { periodSeconds: 5 }, startupProbe: { exec: { command: ["true"] }, successThreshold: 2 } })],
        tolerations: [
          { key: "k", operator: "Exists", value: "v" },
          { key: "k", effect: "NoSchedule", tolerationSeconds: 5 },
        ],
      }),
    );
    expect(errs).toContain("spec.containers[0].livenessProbe: Required value: must specify a handler type");
    expect(errs).toContain("spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1");
    expect(errs).toContain(`spec.tolerations[0].operator: Invalid value: "v": value must be empty when \`operator\` is 'Exists'`);
    expect(errs).toContain(
      `spec.tolerations[1].effect: Invalid value: "NoSchedule": effect must be 'NoExecute' when \`tolerationSeconds\` is set`,
    );
  });

  it("aggregates as Kubernetes does", () => {
    const one = invalidObjectMessage("Pod", "web", podDef.validate!(pod({ containers: [] })));
    expect(one).toBe('Pod "web" is invalid: spec.containers: Required value');
    const two = invalidObjectMessage("Pod", "web", podDef.validate!(pod({ restartPolicy: "x", containers: [] })));
    expect(two).toMatch(/^Pod "web" is invalid: \[spec\.containers: Required value, spec\.restartPolicy: Unsupported value/);
  });
});

describe("pod defaults", () => {
  it("sets Kubernetes' defaults", () => {
    const p = pod({
      containers: [
        app({ image: "nginx", resources: { limits: { cpu: "1", memory: "1Gi" } }, readinessProbe: { httpGet: { port: 80 } } }),
        app({ name: "side", image: "x:1.0" }),
      ],
    });
    expect(p.spec!.restartPolicy).toBe("Always");
    expect(p.spec!.terminationGracePeriodSeconds).toBe(30);
    expect(p.spec!.dnsPolicy).toBe("ClusterFirst");
    expect(p.spec!.schedulerName).toBe("default-scheduler");
    expect(p.spec!.containers.map((c) => c.imagePullPolicy)).toEqual(["Always", "IfNotPresent"]);
    expect(p.spec!.containers[0].resources!.requests).toEqual({ cpu: "1", memory: "1Gi" });
    const probe = p.spec!.containers[0].readinessProbe!;
    expect([
      probe.timeoutSeconds,
      probe.periodSeconds,
      probe.successThreshold,
      probe.failureThreshold,
      probe.httpGet!.path,
      probe.httpGet!.scheme,
    ]).toEqual([1, 10, 1, 3, "/", "HTTP"]);
    expect(p.status!.qosClass).toBe("Burstable");
    expect(pod({ containers: [app({ image: "x:latest" })] }).spec!.containers[0].imagePullPolicy).toBe("Always");
    expect(pod({ containers: [app({ image: "x@sha256:abc" })] }).spec!.containers[0].imagePullPolicy).toBe("IfNotPresent");
    expect(pod({ containers: [app()] }).status!.qosClass).toBe("BestEffort");
    expect(pod({ containers: [app({ resources: { limits: { cpu: "1", memory: "1Gi" } } })] }).status!.qosClass).toBe("Guaranteed");
  });
});

describe("pod updates", () => {
  it("allow an image change and forbid other spec changes", () => {
    const old = pod({ containers: [app()] });
    const image = clone(PodSchema, old);
    image.spec!.containers[0].image = "nginx:1.26";
    expect(podDef.validateUpdate!(image, old)).toEqual([]);
    const policy = clone(PodSchema, old);
    policy.spec!.restartPolicy = "Never";
    expect(podDef.validateUpdate!(policy, old).map(String)[0]).toMatch(
      /^spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/,
    );
  });
});

describe("config kinds", () => {
  const cmDef = kindFor("v1", "ConfigMap")!;
  it("checks ConfigMap keys and immutability", () => {
    const cm = decodeObject({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      data: { "bad/key": "x", ok: "y" },
      binaryData: { ok: "eA==" },
    }).obj;
    expect(cmDef.validate!(cm).map(String)).toEqual([
      `data: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
      'binaryData: Duplicate value: "ok"',
    ]);
    const frozen = decodeObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "1" }, immutable: true }).obj;
    const changed = decodeObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "2" }, immutable: true }).obj;
    expect(cmDef.validateUpdate!(changed, frozen).map(String)).toEqual(["data: Forbidden: field is immutable when `immutable` is set"]);
  });

  it("merges a Secret's stringData into data", () => {
    const secretDef = kindFor("v1", "Secret")!;
    const s = decodeObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: "YQ==" }, stringData: { b: "bee" } })
      .obj as KubeObject & { data: Record<string, Uint8Array>; stringData: object; type: string };
    secretDef.defaults!(s);
    expect(Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual({ a: "a", b: "bee" });
    expect(s.stringData).toEqual({});
    expect(s.type).toBe("Opaque");
  });
});
