import { describe, expect, it } from "vitest";
import { createRegistry } from "@bufbuild/protobuf";
import { file_kubelab_apps_v1_apps } from "./gen/kubelab/apps/v1/apps_pb.js";
import { file_kubelab_autoscaling_v2_hpa } from "./gen/kubelab/autoscaling/v2/hpa_pb.js";
import { file_kubelab_batch_v1_job } from "./gen/kubelab/batch/v1/job_pb.js";
import { file_kubelab_core_v1_node } from "./gen/kubelab/core/v1/node_pb.js";
import { file_kubelab_core_v1_persistentvolume } from "./gen/kubelab/core/v1/persistentvolume_pb.js";
import { file_kubelab_core_v1_pod } from "./gen/kubelab/core/v1/pod_pb.js";
import { file_kubelab_core_v1_service } from "./gen/kubelab/core/v1/service_pb.js";
import { file_kubelab_meta_v1_meta } from "./gen/kubelab/meta/v1/meta_pb.js";
import { patchStrategies, patchStrategyOf } from "./patchStrategies.js";

// The struct tags of k8s.io/api and k8s.io/apimachinery, a few of them spelled out.
const cases: Array<{ type: string; field: string; want: ReturnType<typeof patchStrategyOf> }> = [
  { type: "kubelab.core.v1.PodSpec", field: "containers", want: { strategy: "merge", mergeKey: "name" } },
  { type: "kubelab.core.v1.PodSpec", field: "volumes", want: { strategy: "merge,retainKeys", mergeKey: "name" } },
  { type: "kubelab.core.v1.PodSpec", field: "tolerations", want: undefined },
  { type: "kubelab.core.v1.Container", field: "ports", want: { strategy: "merge", mergeKey: "containerPort" } },
  { type: "kubelab.core.v1.Container", field: "env", want: { strategy: "merge", mergeKey: "name" } },
  { type: "kubelab.core.v1.Container", field: "volumeMounts", want: { strategy: "merge", mergeKey: "mountPath" } },
  { type: "kubelab.core.v1.Container", field: "args", want: undefined },
  { type: "kubelab.core.v1.ServiceSpec", field: "ports", want: { strategy: "merge", mergeKey: "port" } },
  { type: "kubelab.core.v1.NodeSpec", field: "taints", want: undefined },
  { type: "kubelab.meta.v1.ObjectMeta", field: "finalizers", want: { strategy: "merge" } },
  { type: "kubelab.meta.v1.ObjectMeta", field: "ownerReferences", want: { strategy: "merge", mergeKey: "uid" } },
  { type: "kubelab.meta.v1.ObjectMeta", field: "labels", want: undefined },
  { type: "kubelab.apps.v1.DeploymentSpec", field: "strategy", want: { strategy: "retainKeys" } },
  { type: "kubelab.apps.v1.DeploymentStatus", field: "conditions", want: { strategy: "merge", mergeKey: "type" } },
  { type: "kubelab.core.v1.NamespaceSpec", field: "finalizers", want: undefined },
];

describe("patchStrategyOf", () => {
  it.each(cases)("$type.$field", ({ type, field, want }) => {
    expect(patchStrategyOf(type, field)).toEqual(want);
  });

  it("does not take a key of Object.prototype for a field", () => {
    expect(patchStrategyOf("kubelab.core.v1.PodSpec", "constructor")).toBeUndefined();
    expect(patchStrategyOf("toString", "containers")).toBeUndefined();
  });

  it("names only fields our messages have: lists, or a message for retainKeys alone, merge keys of the element", () => {
    const registry = createRegistry(
      file_kubelab_meta_v1_meta,
      file_kubelab_core_v1_pod,
      file_kubelab_core_v1_service,
      file_kubelab_core_v1_node,
      file_kubelab_apps_v1_apps,
      file_kubelab_batch_v1_job,
      file_kubelab_autoscaling_v2_hpa,
      file_kubelab_core_v1_persistentvolume,
    );
    for (const [typeName, fields] of patchStrategies) {
      const desc = registry.getMessage(typeName);
      expect(desc, typeName).toBeDefined();
      for (const [jsonName, { strategy, mergeKey }] of fields) {
        const field = desc!.fields.find((f) => f.jsonName === jsonName);
        const at = `${typeName}.${jsonName}`;
        expect(field, at).toBeDefined();
        if (strategy === "retainKeys") {
          expect(field!.fieldKind, at).toBe("message");
          continue;
        }
        expect(field!.fieldKind, at).toBe("list");
        if (field!.fieldKind !== "list") continue;
        if (mergeKey === undefined) {
          expect(field!.listKind, `${at}: a merge list without a key holds primitives`).toBe("scalar");
        } else {
          expect(field!.listKind, at).toBe("message");
          if (field!.listKind === "message")
            expect(
              field!.message.fields.map((f) => f.jsonName),
              at,
            ).toContain(mergeKey);
        }
      }
    }
  });
});
