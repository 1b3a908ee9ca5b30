import { create } from "@bufbuild/protobuf";
import { ScaleSchema, type Scale } from "../gen/kubelab/autoscaling/v1/scale_pb.js";
import type { KubeObject } from "../registry.js";
import { LabelSelector } from "../selectors/labelSelector.js";

/** What a kind with a scale subresource has: spec.replicas, spec.selector, status.replicas. */
export type Scalable = KubeObject & {
  spec?: { replicas?: number; selector?: Parameters<typeof LabelSelector.fromMessage>[0] };
  status?: { replicas: number };
};

/** A Deployment's or ReplicaSet's scale, as autoscaling/v1 Scale: its metadata, spec.replicas, and its pods' selector as a string. */
export function scaleOf(obj: Scalable): Scale {
  const m = obj.metadata!;
  let selector = "";
  try {
    selector = LabelSelector.fromMessage(obj.spec?.selector).toString();
  } catch {
    // An invalid selector cannot be stored; nothing to report.
  }
  return create(ScaleSchema, {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector },
  });
}
