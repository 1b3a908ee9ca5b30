import { apiResources, KUBELAB_VERSION, type APIResource } from "@kubelab/api";

// Kubernetes' legacy discovery documents (APIVersions, APIGroupList, APIResourceList), built from
// the same resource list the gRPC GetAPIResources serves. kubectl asks for the aggregated form
// first (apidiscovery.k8s.io/v2) and falls back to these when the answer is plain JSON.

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
