import { describe, expect, it } from "vitest";
import "@kubelab/api";
import { aggregatedDiscoveryDoc, wantsAggregatedDiscovery } from "./discoveryDocs.js";

type Doc = ReturnType<typeof aggregatedDiscoveryDoc>;
const resource = (doc: Doc, group: string, name: string) =>
  doc.items
    .find((i) => (i.metadata as { name?: string }).name === (group || undefined))
    ?.versions[0]?.resources.find((r) => r.resource === name);

describe("aggregated discovery", () => {
  it("is what kubectl 1.32's Accept header asks for first; plain JSON is the legacy form", () => {
    expect(
      wantsAggregatedDiscovery(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
      ),
    ).toBe(true);
    expect(wantsAggregatedDiscovery("application/json, */*")).toBe(false);
    expect(wantsAggregatedDiscovery(undefined)).toBe(false);
  });

  it("lists the core group under /api and the named groups under /apis, with scopes, names and subresources", () => {
    const core = aggregatedDiscoveryDoc("api");
    expect(core).toMatchObject({ kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2" });
    expect(core.items).toHaveLength(1);
    expect(resource(core, "", "pods")).toMatchObject({
      responseKind: { group: "", version: "v1", kind: "Pod" },
      scope: "Namespaced",
      singularResource: "pod",
      shortNames: ["po"],
      categories: ["all"],
    });
    expect(resource(core, "", "pods")?.subresources?.map((s) => s.subresource)).toEqual(expect.arrayContaining(["status", "log", "exec"]));
    expect(resource(core, "", "nodes")?.scope).toBe("Cluster");
    const groups = aggregatedDiscoveryDoc("apis");
    expect(groups.items.map((i) => (i.metadata as { name: string }).name)).toEqual(
      expect.arrayContaining(["apps", "batch", "metrics.k8s.io"]),
    );
    expect(resource(groups, "apps", "deployments")?.subresources).toContainEqual({
      subresource: "scale",
      responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
      verbs: ["get", "patch", "update"],
    });
    expect(groups.items.every((i) => i.versions.every((v) => v.freshness === "Current"))).toBe(true);
  });
});
