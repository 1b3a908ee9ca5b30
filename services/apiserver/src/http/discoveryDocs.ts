import { apiResources, KUBELAB_VERSION, type APIResource } from "@kubelab/api";

// Kubernetes' discovery documents, built from the same resource list the gRPC GetAPIResources
// serves: the aggregated form kubectl asks for first (apidiscovery.k8s.io/v2: every group,
// version and resource in one answer for /api and one for /apis), and the legacy documents
// (APIVersions, APIGroupList, APIResourceList) it falls back to, which other clients read.

/** The Kubernetes version the lab's API speaks, for /version and kubectl's skew check. */
export const KUBERNETES_VERSION = { major: "1", minor: "32" };

export function versionDoc(platform: string): Record<string, string> {
  return {
    ...KUBERNETES_VERSION,
    gitVersion: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.0-kubelab.${KUBELAB_VERSION.replace(/^v/, "")}`,
    gitCommit: "",
    gitTreeState: "clean",
    buildDate: "",
    goVersion: process.version,
    compiler: "node",
    platform,
  };
}

export function apiVersionsDoc(serverAddress: string) {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

const byGroupVersion = () => {
  const m = new Map<string, APIResource[]>();
  for (const r of apiResources()) {
    const gv = r.group ? `${r.group}/${r.version}` : r.version;
    // A subresource of another group's kind (deployments/scale is autoscaling/v1 Scale) is listed with its parent.
    m.set(gv, [...(m.get(gv) ?? []), r]);
  }
  return m;
};

export function apiGroupListDoc() {
  const groups = new Map<string, string[]>();
  for (const gv of byGroupVersion().keys()) {
    if (!gv.includes("/")) continue;
    const [group, version] = gv.split("/") as [string, string];
    groups.set(group, [...(groups.get(group) ?? []), version]);
  }
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function apiGroupDoc(group: string) {
  return apiGroupListDoc().groups.find((g) => g.name === group);
}

/** /api/v1, /apis/GROUP/VERSION: every resource of a group version, undefined for one not served. */
export function apiResourceListDoc(groupVersion: string) {
  const resources = byGroupVersion().get(groupVersion);
  if (!resources) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: resources.map((r) => {
      const isSub = r.name.includes("/");
      const out: Record<string, unknown> = {
        name: r.name,
        singularName: r.singularName,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
      };
      if (isSub && r.kind === "Scale") Object.assign(out, { group: "autoscaling", version: "v1" });
      if (r.shortNames.length) out.shortNames = r.shortNames;
      if (r.categories.length) out.categories = r.categories;
      return out;
    }),
  };
}

/** The media type of aggregated discovery, as the client asks for it and the server answers. */
export const AGGREGATED_DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** Whether an Accept header asks for aggregated discovery (apidiscovery.k8s.io/v2; kubectl 1.32 also offers v2beta1). */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  return (accept ?? "").split(",").some((t) => {
    const params = t.split(";").map((p) => p.trim());
    return params.includes("g=apidiscovery.k8s.io") && params.includes("v=v2") && params.includes("as=APIGroupDiscoveryList");
  });
}

/**
 * The aggregated discovery document of /api (the core group) or /apis (every named group): each
 * group's versions with their resources, each resource's scope, verbs, names and subresources.
 */
export function aggregatedDiscoveryDoc(root: "api" | "apis") {
  const groups = new Map<string, Map<string, APIResource[]>>();
  for (const [gv, resources] of byGroupVersion()) {
    const [group, version] = gv.includes("/") ? (gv.split("/") as [string, string]) : ["", gv];
    if ((root === "api") !== (group === "")) continue;
    const versions = groups.get(group) ?? new Map<string, APIResource[]>();
    versions.set(version, resources);
    groups.set(group, versions);
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: [...groups].map(([group, versions]) => ({
      metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
      versions: [...versions].map(([version, resources]) => ({
        version,
        resources: resources
          .filter((r) => !r.name.includes("/"))
          .map((r) => {
            const subresources = resources
              .filter((s) => s.name.startsWith(`${r.name}/`))
              .map((s) => ({
                subresource: s.name.slice(r.name.length + 1),
                responseKind:
                  s.kind === "Scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : { group, version, kind: s.kind },
                verbs: s.verbs,
              }));
            return {
              resource: r.name,
              responseKind: { group, version, kind: r.kind },
              scope: r.namespaced ? "Namespaced" : "Cluster",
              singularResource: r.singularName,
              verbs: r.verbs,
              ...(r.shortNames.length && { shortNames: r.shortNames }),
              ...(r.categories.length && { categories: r.categories }),
              ...(subresources.length && { subresources }),
            };
          }),
        freshness: "Current",
      })),
    })),
  };
}
