import { create } from "@bufbuild/protobuf";
import { APIResourceSchema, type APIResource } from "./gen/kubelab/apiserver/v1/api_pb.js";
import { allKinds, resourceNameInGroup, type KindDefinition } from "./registry.js";

/** The verbs of every kind's main resource (Kubernetes' deletecollection is not served). */
const RESOURCE_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];
/** What metrics-server serves. */
const AGGREGATED_VERBS = ["get", "list"];

/**
 * Subresources beyond status, by resource, with their verbs; here each is its own RPC (Bind,
 * Logs), so it names the kind Kubernetes gives it and no message of its own.
 */
const SUBRESOURCES: Record<string, Array<{ name: string; verbs: string[]; kind?: string }>> = {
  pods: [
    { name: "binding", verbs: ["create"], kind: "Binding" },
    { name: "log", verbs: ["get"] },
    { name: "exec", verbs: ["create", "get"], kind: "PodExecOptions" },
    { name: "attach", verbs: ["create", "get"], kind: "PodAttachOptions" },
  ],
  deployments: [{ name: "scale", verbs: ["get", "patch", "update"], kind: "Scale" }],
  replicasets: [{ name: "scale", verbs: ["get", "patch", "update"], kind: "Scale" }],
};

const groupVersion = (def: KindDefinition) => {
  const [group, version] = def.apiVersion.includes("/") ? def.apiVersion.split("/") : ["", def.apiVersion];
  return { group: group!, version: version! };
};

/**
 * Every resource this API serves, as Kubernetes' discovery lists it: each kind's resource, then
 * its subresources ("pods/status", "pods/binding", "pods/log"), sorted by group and name.
 */
export function apiResources(): APIResource[] {
  const out: APIResource[] = [];
  const kinds = [...allKinds()].sort(
    (a, b) => groupVersion(a).group.localeCompare(groupVersion(b).group) || a.resource.localeCompare(b.resource),
  );
  for (const def of kinds) {
    const { group, version } = groupVersion(def);
    const base = { singularName: "", namespaced: def.namespaced, group, version, kind: def.kind, messageType: def.schema.typeName };
    out.push(
      create(APIResourceSchema, {
        ...base,
        name: resourceNameInGroup(def),
        singularName: def.singular,
        verbs: def.aggregated ? AGGREGATED_VERBS : RESOURCE_VERBS,
        shortNames: [...def.shortNames],
        categories: [...(def.categories ?? [])],
      }),
    );
    if (def.hasStatus) out.push(create(APIResourceSchema, { ...base, name: `${def.resource}/status`, verbs: ["get", "patch", "update"] }));
    for (const sub of SUBRESOURCES[def.resource] ?? []) {
      out.push(
        create(APIResourceSchema, {
          ...base,
          name: `${def.resource}/${sub.name}`,
          verbs: sub.verbs,
          kind: sub.kind ?? def.kind,
          messageType: "",
        }),
      );
    }
  }
  return out;
}
