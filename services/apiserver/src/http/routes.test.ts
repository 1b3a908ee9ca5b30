import "@kubelab/api";
import { describe, expect, it } from "vitest";
import { kindForPath, parseApiPath } from "./routes.js";

describe("parseApiPath", () => {
  it("reads the discovery roots", () => {
    expect(parseApiPath("/version")).toEqual({ type: "version" });
    expect(parseApiPath("/api")).toEqual({ type: "legacyRoot" });
    expect(parseApiPath("/apis")).toEqual({ type: "groups" });
    expect(parseApiPath("/api/v1")).toEqual({ type: "groupVersion", group: "", version: "v1" });
    expect(parseApiPath("/apis/apps/v1")).toEqual({ type: "groupVersion", group: "apps", version: "v1" });
  });

  it("reads namespaced and cluster-scoped resources, names and subresources", () => {
    expect(parseApiPath("/api/v1/namespaces/default/pods/web/log")).toEqual({
      type: "resource",
      group: "",
      version: "v1",
      namespace: "default",
      resource: "pods",
      name: "web",
      subresource: "log",
    });
    expect(parseApiPath("/api/v1/pods")).toMatchObject({ namespace: "", resource: "pods", name: "" });
    expect(parseApiPath("/api/v1/nodes/node-1")).toMatchObject({ resource: "nodes", name: "node-1" });
    expect(parseApiPath("/apis/apps/v1/namespaces/a/deployments/web/scale")).toMatchObject({
      group: "apps",
      namespace: "a",
      resource: "deployments",
      name: "web",
      subresource: "scale",
    });
  });

  it("takes namespaces/NAME as the Namespace itself", () => {
    expect(parseApiPath("/api/v1/namespaces/kube-system")).toMatchObject({ resource: "namespaces", name: "kube-system", namespace: "" });
    expect(parseApiPath("/api/v1/namespaces")).toMatchObject({ resource: "namespaces", name: "" });
  });

  it("finds kinds by group, version and resource, metrics included", () => {
    expect(kindForPath("apps", "v1", "deployments")?.kind).toBe("Deployment");
    expect(kindForPath("", "v1", "pods")?.kind).toBe("Pod");
    expect(kindForPath("metrics.k8s.io", "v1beta1", "pods")?.kind).toBe("PodMetrics");
    expect(kindForPath("apps", "v2", "deployments")).toBeUndefined();
  });
});
