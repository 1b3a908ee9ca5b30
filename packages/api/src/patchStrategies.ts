// Kubernetes' strategic merge patch metadata of the built-in kinds: which list fields merge
// element by element and by which key (the `patchStrategy` and `patchMergeKey` struct tags of
// k8s.io/api), for the strategic merge patch and the OpenAPI documents.

export interface FieldPatchStrategy {
  /** "merge", "replace", "retainKeys" or "merge,retainKeys", as the struct tag says. */
  strategy: string;
  /** The key a merged list's elements are matched by ("name", "containerPort"). */
  mergeKey?: string;
}

// Frozen: every caller shares these.
const merge: FieldPatchStrategy = Object.freeze({ strategy: "merge" });
const mergeOn = (mergeKey: string): FieldPatchStrategy => Object.freeze({ strategy: "merge", mergeKey });

/**
 * The struct tags, by our message's full name and the field's JSON name, for the fields our protos
 * carry. Read from k8s.io/api (core/v1, storage/v1, apps/v1, batch/v1, autoscaling/v2 types.go) and
 * k8s.io/apimachinery (pkg/apis/meta/v1/types.go). A field that Kubernetes leaves untagged is left
 * out, and so is a tagged Kubernetes field our protos lack (ephemeralContainers, schedulingGates,
 * resourceClaims, volumeDevices, ...). Untagged on purpose upstream, and so here: PodSpec.tolerations,
 * NodeSpec.taints, Container.envFrom, NamespaceSpec.finalizers, Endpoints.subsets, LabelSelector's lists.
 */
export const patchStrategies: ReadonlyMap<string, ReadonlyMap<string, FieldPatchStrategy>> = new Map(
  Object.entries({
    "kubelab.meta.v1.ObjectMeta": {
      ownerReferences: mergeOn("uid"),
      // A list of strings: merged as a set, and $deleteFromPrimitiveList takes items out.
      finalizers: merge,
    },

    "kubelab.core.v1.PodSpec": {
      volumes: Object.freeze({ strategy: "merge,retainKeys", mergeKey: "name" }),
      initContainers: mergeOn("name"),
      containers: mergeOn("name"),
      imagePullSecrets: mergeOn("name"),
      hostAliases: mergeOn("ip"),
      topologySpreadConstraints: mergeOn("topologyKey"),
    },
    "kubelab.core.v1.Container": {
      ports: mergeOn("containerPort"),
      env: mergeOn("name"),
      volumeMounts: mergeOn("mountPath"),
    },
    "kubelab.core.v1.PodStatus": {
      conditions: mergeOn("type"),
      hostIPs: mergeOn("ip"),
      podIPs: mergeOn("ip"),
    },

    "kubelab.core.v1.PersistentVolumeClaimStatus": {
      conditions: mergeOn("type"),
    },

    "kubelab.core.v1.ServiceSpec": {
      ports: mergeOn("port"),
    },

    "kubelab.core.v1.NodeSpec": {
      podCIDRs: merge,
    },
    "kubelab.core.v1.NodeStatus": {
      conditions: mergeOn("type"),
      addresses: mergeOn("type"),
    },

    "kubelab.apps.v1.DeploymentSpec": {
      // Not a list: a patch that names $retainKeys here clears the other keys (rollingUpdate when
      // kubectl apply switches the type to Recreate).
      strategy: Object.freeze({ strategy: "retainKeys" }),
    },
    "kubelab.apps.v1.DeploymentStatus": {
      conditions: mergeOn("type"),
    },
    "kubelab.apps.v1.ReplicaSetStatus": {
      conditions: mergeOn("type"),
    },

    "kubelab.batch.v1.JobStatus": {
      conditions: mergeOn("type"),
    },

    "kubelab.autoscaling.v2.HorizontalPodAutoscalerStatus": {
      conditions: mergeOn("type"),
    },
  }).map(([typeName, fields]) => [typeName, new Map(Object.entries(fields))]),
);

/**
 * The patch strategy of a field, by the protobuf message that holds it ("kubelab.core.v1.PodSpec")
 * and the field's JSON name ("containers"); undefined: a list is replaced whole, a map merged.
 */
export function patchStrategyOf(typeName: string, jsonField: string): FieldPatchStrategy | undefined {
  return patchStrategies.get(typeName)?.get(jsonField);
}
