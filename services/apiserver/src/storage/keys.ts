import type { KindDefinition } from "@kubelab/api";

/** Kubernetes' etcd layout: /registry/<resource>/<namespace>/<name>, or /registry/<resource>/<name>. */
export const REGISTRY_PREFIX = "/registry/";

export function storageKey(def: KindDefinition, namespace: string, name: string): string {
  return def.namespaced ? `${REGISTRY_PREFIX}${def.resource}/${namespace}/${name}` : `${REGISTRY_PREFIX}${def.resource}/${name}`;
}

/** The prefix of a resource's keys, narrowed to a namespace when one is given. */
export function resourcePrefix(def: KindDefinition, namespace = ""): string {
  return def.namespaced && namespace ? `${REGISTRY_PREFIX}${def.resource}/${namespace}/` : `${REGISTRY_PREFIX}${def.resource}/`;
}

/** The resource a key belongs to ("pods" for /registry/pods/default/web). */
export function resourceOfKey(key: string): string {
  const rest = key.slice(REGISTRY_PREFIX.length);
  return rest.slice(0, rest.indexOf("/"));
}

/** The first key after every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      b[i]++;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
