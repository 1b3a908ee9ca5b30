import { allKinds, resourceNameInGroup, type KindDefinition } from "@kubelab/api";

/** A request path of Kubernetes' HTTP API, parsed. */
export type ApiPath =
  | { type: "version" }
  | { type: "legacyRoot" }
  | { type: "groups" }
  | { type: "groupVersion"; group: string; version: string }
  | { type: "group"; group: string }
  | {
      type: "resource";
      group: string;
      version: string;
      /** Empty for cluster-scoped requests and lists across namespaces. */
      namespace: string;
      resource: string;
      name: string;
      subresource: string;
    }
  | { type: "unknown" };

/**
 * Parses /api/v1/..., /apis/GROUP/VERSION/... and the discovery roots, as kube-apiserver lays
 * them out: [namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]. A path under namespaces/NAME with
 * nothing after it is the Namespace NAME itself (and namespaces/NAME/status, /finalize its
 * subresources).
 */
export function parseApiPath(pathname: string): ApiPath {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 1 && parts[0] === "version") return { type: "version" };
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    if (parts.length === 1) return { type: "legacyRoot" };
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    if (parts.length === 1) return { type: "groups" };
    if (parts.length === 2) return { type: "group", group: parts[1]! };
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { type: "unknown" };
  }
  if (rest.length === 0) return { type: "groupVersion", group, version };
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  } else if (rest[0] === "namespaces" && rest.length === 2) {
    return { type: "resource", group, version, namespace: "", resource: "namespaces", name: rest[1]!, subresource: "" };
  }
  const [resource = "", name = "", subresource = "", ...more] = rest;
  if (more.length) return { type: "unknown" };
  return { type: "resource", group, version, namespace, resource, name, subresource };
}

/** The kind a group, version and resource name in the URL stand for. */
export function kindForPath(group: string, version: string, resource: string): KindDefinition | undefined {
  const apiVersion = group ? `${group}/${version}` : version;
  return allKinds().find((k) => k.apiVersion === apiVersion && resourceNameInGroup(k) === resource);
}

/** A boolean query parameter as kube-apiserver reads one ("true" or "1"). */
export const isTrue = (v: string | null) => v === "true" || v === "1";
