import { patchStrategyOf } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import {
  openApiV2,
  openApiV3For,
  openApiV3Root,
  schemaNameOf,
  servedOpenApiV2,
  servedOpenApiV3,
  servedOpenApiV3Root,
  type OpenApiObject,
} from "./openapi.js";

// biome-ignore lint/suspicious/noExplicitAny: the documents are JSON, walked by key in assertions
type Json = Record<string, any>;

const v3 = (gv: string) => openApiV3For(gv) as Json;
const schemasOf = (doc: Json): Json => doc.components?.schemas ?? doc.definitions;

/** A $ref's target in its document ("#/components/schemas/X" or "#/definitions/X"). */
function resolve(doc: Json, s: Json): Json {
  const inner = s.allOf?.length === 1 ? s.allOf[0] : s;
  if (!inner.$ref) return s;
  const name = (inner.$ref as string).split("/").pop()!;
  const target = schemasOf(doc)[name];
  expect(target, `${inner.$ref} resolves`).toBeDefined();
  return target;
}

/** The schema at a field path from a component ("spec.template.spec.containers"), following refs and arrays. */
function fieldAt(doc: Json, schemaName: string, path: string): Json {
  let s: Json = schemasOf(doc)[schemaName];
  for (const key of path.split(".")) {
    s = resolve(doc, s);
    if (s.items) s = resolve(doc, s.items);
    expect(s.properties?.[key], `${key} of ${path}`).toBeDefined();
    s = s.properties[key];
  }
  return s;
}

/** What cli-runtime's queryParamVerifierV3 does: the first PATCH of the GVK decides. */
function patchTakes(doc: Json, gvk: Json, param: string): boolean | undefined {
  for (const item of Object.values(doc.paths as Json)) {
    const op = (item as Json).patch;
    if (!op) continue;
    const g = op["x-kubernetes-group-version-kind"];
    if (g?.group !== gvk.group || g?.version !== gvk.version || g?.kind !== gvk.kind) continue;
    return op.parameters.some((p: Json) => p.name === param && p.in === "query");
  }
  return undefined;
}

function allRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) allRefs(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref") out.push(v as string);
      else allRefs(v, out);
    }
  }
  return out;
}

describe("openApiV3Root", () => {
  it("lists every group version, aggregated ones too, at a hashed URL", () => {
    const { paths } = openApiV3Root();
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        "api/v1",
        "apis/apps/v1",
        "apis/batch/v1",
        "apis/autoscaling/v2",
        "apis/coordination.k8s.io/v1",
        "apis/metrics.k8s.io/v1beta1",
      ]),
    );
    for (const [path, { serverRelativeURL }] of Object.entries(paths)) {
      expect(serverRelativeURL).toBe(`/openapi/v3/${path}?hash=${servedOpenApiV3(path)!.hash}`);
    }
  });

  it("hashes a document's JSON, the same on every call", () => {
    const served = servedOpenApiV3("apis/apps/v1")!;
    expect(served.hash).toMatch(/^[0-9A-F]{128}$/);
    expect(servedOpenApiV3("apis/apps/v1")).toBe(served);
    expect(JSON.parse(served.body)).toEqual(openApiV3For("apps/v1"));
    expect(JSON.parse(servedOpenApiV3Root().body)).toEqual(openApiV3Root());
  });

  it("has no document for a group version not served", () => {
    expect(openApiV3For("extensions/v1beta1")).toBeUndefined();
    expect(servedOpenApiV3("apis/extensions/v1beta1")).toBeUndefined();
  });
});

describe("openApiV3For paths", () => {
  it("lays namespaced kinds out as kube-apiserver does, with the list across namespaces", () => {
    const paths = v3("v1").paths as Json;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/namespaces/{namespace}/pods",
        "/api/v1/namespaces/{namespace}/pods/{name}",
        "/api/v1/namespaces/{namespace}/pods/{name}/status",
        "/api/v1/namespaces/{namespace}/pods/{name}/log",
        "/api/v1/pods",
        "/api/v1/nodes",
        "/api/v1/nodes/{name}",
        "/api/v1/namespaces",
        "/api/v1/namespaces/{name}",
      ]),
    );
    const pod = paths["/api/v1/namespaces/{namespace}/pods/{name}"];
    expect(Object.keys(pod).sort()).toEqual(["delete", "get", "parameters", "patch", "put"]);
    expect(pod.parameters.map((p: Json) => p.name)).toEqual(["namespace", "name"]);
    expect(pod.get["x-kubernetes-action"]).toBe("get");
    expect(pod.get.operationId).toBe("readCoreV1NamespacedPod");
    expect(paths["/api/v1/pods"].get.operationId).toBe("listCoreV1PodForAllNamespaces");
    expect(paths["/api/v1/nodes/{name}"].parameters.map((p: Json) => p.name)).toEqual(["name"]);
  });

  it("gives a Pod's PATCH fieldValidation, dryRun and fieldManager, and its GVK", () => {
    const doc = v3("v1");
    const patch = doc.paths["/api/v1/namespaces/{namespace}/pods/{name}"].patch;
    expect(patch["x-kubernetes-group-version-kind"]).toEqual({ group: "", version: "v1", kind: "Pod" });
    expect(patch["x-kubernetes-action"]).toBe("patch");
    expect(patch.parameters.map((p: Json) => p.name)).toEqual(expect.arrayContaining(["fieldValidation", "dryRun", "fieldManager"]));
    expect(patch.parameters.find((p: Json) => p.name === "fieldValidation")).toMatchObject({ in: "query", schema: { type: "string" } });
    // kubectl apply builds its strategic merge patch from the schemas only when the PATCH takes one.
    expect(Object.keys(patch.requestBody.content)).toContain("application/strategic-merge-patch+json");
    // Whichever PATCH of a GVK kubectl finds first (the object's, its status's) must take fieldValidation.
    for (const [gv, kinds] of [
      ["v1", ["Pod", "Node", "Namespace", "ConfigMap", "Secret", "Service", "Endpoints", "Event"]],
      ["apps/v1", ["Deployment", "ReplicaSet"]],
      ["batch/v1", ["Job"]],
      ["autoscaling/v2", ["HorizontalPodAutoscaler"]],
      ["coordination.k8s.io/v1", ["Lease"]],
    ] as const) {
      for (const kind of kinds) {
        const group = gv.includes("/") ? gv.split("/")[0] : "";
        expect(patchTakes(v3(gv), { group, version: gv.split("/").pop(), kind }, "fieldValidation"), kind).toBe(true);
      }
    }
    const create = doc.paths["/api/v1/namespaces/{namespace}/pods"].post;
    expect(create.parameters.map((p: Json) => p.name)).toContain("fieldValidation");
    expect(create.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/io.k8s.api.core.v1.Pod" });
  });

  it("puts the scale subresource under its parent with autoscaling/v1 Scale's GVK", () => {
    const doc = v3("apps/v1");
    const scale = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    expect(scale.get["x-kubernetes-group-version-kind"]).toEqual({ group: "autoscaling", version: "v1", kind: "Scale" });
    expect(scale.get.operationId).toBe("readAppsV1NamespacedDeploymentScale");
    expect(doc.components.schemas["io.k8s.api.autoscaling.v1.Scale"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "autoscaling", version: "v1", kind: "Scale" },
    ]);
    expect(doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"].patch).toBeDefined();
  });

  it("gives metrics.k8s.io reads only", () => {
    const doc = v3("metrics.k8s.io/v1beta1");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/apis/metrics.k8s.io/v1beta1/nodes",
        "/apis/metrics.k8s.io/v1beta1/nodes/{name}",
        "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods",
        "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}",
        "/apis/metrics.k8s.io/v1beta1/pods",
      ]),
    );
    for (const item of Object.values(doc.paths as Json)) expect(Object.keys(item).sort()).toEqual(["get", "parameters"]);
    expect(doc.components.schemas["io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics"]).toBeDefined();
  });
});

describe("openApiV3For schemas", () => {
  it("names schemas as Kubernetes does", () => {
    expect(schemaNameOf("kubelab.core.v1.Pod")).toBe("io.k8s.api.core.v1.Pod");
    expect(schemaNameOf("kubelab.apps.v1.Deployment")).toBe("io.k8s.api.apps.v1.Deployment");
    expect(schemaNameOf("kubelab.meta.v1.ObjectMeta")).toBe("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    expect(schemaNameOf("kubelab.autoscaling.v2.HorizontalPodAutoscaler")).toBe("io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler");
    expect(schemaNameOf("kubelab.metrics.v1beta1.PodMetrics")).toBe("io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics");
    expect(Object.keys(v3("autoscaling/v2").components.schemas)).toContain("io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler");
    expect(Object.keys(v3("v1").components.schemas)).toContain("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  });

  it("marks each kind's schema with its GVK as a list, and its List's", () => {
    const schemas = v3("apps/v1").components.schemas;
    expect(schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", version: "v1", kind: "Deployment" },
    ]);
    expect(schemas["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", version: "v1", kind: "DeploymentList" },
    ]);
    expect(schemas["io.k8s.api.apps.v1.DeploymentSpec"]["x-kubernetes-group-version-kind"]).toBeUndefined();
    expect(v3("v1").components.schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "", version: "v1", kind: "Pod" },
    ]);
  });

  it("reaches a Deployment's containers as an array of Container, with the table's patch strategy", () => {
    const doc = v3("apps/v1");
    const containers = fieldAt(doc, "io.k8s.api.apps.v1.Deployment", "spec.template.spec.containers");
    expect(containers.type).toBe("array");
    expect(containers.items).toEqual({ $ref: "#/components/schemas/io.k8s.api.core.v1.Container" });
    const strategy = patchStrategyOf("kubelab.core.v1.PodSpec", "containers");
    expect(containers["x-kubernetes-patch-strategy"]).toBe(strategy?.strategy);
    expect(containers["x-kubernetes-patch-merge-key"]).toBe(strategy?.mergeKey);
    expect(fieldAt(doc, "io.k8s.api.apps.v1.Deployment", "spec.template.spec.containers.name")).toEqual({ type: "string" });
  });

  it("wraps a $ref with a patch strategy beside it in allOf", () => {
    const strategy = patchStrategyOf("kubelab.apps.v1.DeploymentSpec", "strategy");
    const field = fieldAt(v3("apps/v1"), "io.k8s.api.apps.v1.DeploymentSpec", "strategy");
    if (!strategy) return void expect(field).toEqual({ $ref: "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy" });
    expect(field).toEqual({
      allOf: [{ $ref: "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy" }],
      "x-kubernetes-patch-strategy": strategy.strategy,
    });
  });

  it("types IntOrString, Quantity, time, bytes and integers as Kubernetes does", () => {
    const doc = v3("v1");
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "spec.containers.readinessProbe.httpGet.port")).toEqual(ref(intOrString));
    expect(doc.components.schemas[intOrString]).toMatchObject({
      "x-kubernetes-int-or-string": true,
      oneOf: [{ type: "integer" }, { type: "string" }],
    });
    expect(fieldAt(v3("apps/v1"), "io.k8s.api.apps.v1.DeploymentStrategy", "rollingUpdate.maxSurge")).toEqual(ref(intOrString));
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "spec.containers.resources.limits")).toEqual({
      type: "object",
      additionalProperties: ref("io.k8s.apimachinery.pkg.api.resource.Quantity"),
    });
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "metadata.creationTimestamp")).toEqual(ref("io.k8s.apimachinery.pkg.apis.meta.v1.Time"));
    expect(doc.components.schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]).toEqual({ type: "string", format: "date-time" });
    expect(fieldAt(doc, "io.k8s.api.core.v1.Event", "eventTime")).toEqual(ref("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"));
    expect(fieldAt(doc, "io.k8s.api.core.v1.Secret", "data")).toEqual({
      type: "object",
      additionalProperties: { type: "string", format: "byte" },
    });
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "spec.terminationGracePeriodSeconds")).toEqual({ type: "integer", format: "int32" });
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "spec.hostNetwork")).toEqual({ type: "boolean" });
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "spec.hostPID")).toEqual({ type: "boolean" });
    expect(fieldAt(doc, "io.k8s.api.core.v1.Pod", "metadata.labels")).toEqual({ type: "object", additionalProperties: { type: "string" } });
  });

  it("resolves every $ref inside its own document", () => {
    for (const path of Object.keys(openApiV3Root().paths)) {
      const doc = JSON.parse(servedOpenApiV3(path)!.body) as Json;
      for (const ref of allRefs(doc))
        expect(doc.components.schemas[ref.replace("#/components/schemas/", "")], `${path}: ${ref}`).toBeDefined();
    }
  });
});

describe("openApiV2", () => {
  const doc = openApiV2() as Json;

  it("is Swagger 2.0 with the same paths and definitions", () => {
    expect(doc.swagger).toBe("2.0");
    const v3Paths = Object.keys(openApiV3Root().paths).flatMap((p) => Object.keys(JSON.parse(servedOpenApiV3(p)!.body).paths));
    expect(Object.keys(doc.paths).sort()).toEqual(v3Paths.sort());
    for (const ref of allRefs(doc)) {
      expect(ref).toMatch(/^#\/definitions\//);
      expect(doc.definitions[ref.replace("#/definitions/", "")], ref).toBeDefined();
    }
    expect(doc.definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]).toEqual({ type: "string", format: "int-or-string" });
    expect(doc.definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"]).toEqual({ type: "string" });
  });

  it("gives a Pod's PATCH fieldValidation as a query parameter and a body", () => {
    const patch = doc.paths["/api/v1/namespaces/{namespace}/pods/{name}"].patch;
    expect(patch["x-kubernetes-group-version-kind"]).toEqual({ group: "", version: "v1", kind: "Pod" });
    expect(patch.parameters.find((p: Json) => p.name === "fieldValidation")).toMatchObject({ in: "query", type: "string" });
    expect(patch.parameters.find((p: Json) => p.in === "body")).toMatchObject({ name: "body", required: true });
    expect(patch.consumes).toContain("application/strategic-merge-patch+json");
  });

  it("sets patch strategies beside the $ref, as Swagger 2.0 allows", () => {
    const strategy = patchStrategyOf("kubelab.apps.v1.DeploymentSpec", "strategy");
    const field = doc.definitions["io.k8s.api.apps.v1.DeploymentSpec"].properties.strategy;
    expect(field.$ref).toBe("#/definitions/io.k8s.api.apps.v1.DeploymentStrategy");
    expect(field["x-kubernetes-patch-strategy"]).toBe(strategy?.strategy);
  });

  it("is served as its JSON", () => {
    expect(JSON.parse(servedOpenApiV2().body)).toEqual(doc satisfies OpenApiObject);
  });
});
