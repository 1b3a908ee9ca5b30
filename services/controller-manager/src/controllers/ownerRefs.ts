import { create } from "@bufbuild/protobuf";
import { OwnerReferenceSchema, type KubeObject, type OwnerReference } from "@kubelab/api";

export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences.find((r) => r.controller);
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerRef(obj)?.uid === owner.metadata?.uid;
}

/** The reference a controller puts on what it creates: controller=true, blockOwnerDeletion=true. */
export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return create(OwnerReferenceSchema, {
    apiVersion,
    kind,
    name: owner.metadata!.name,
    uid: owner.metadata!.uid,
    controller: true,
    blockOwnerDeletion: true,
  });
}

/** The JSON of a controller reference, for merge patches (adoption). */
export function refJson(r: OwnerReference): Record<string, unknown> {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    uid: r.uid,
    controller: r.controller ?? false,
    blockOwnerDeletion: r.blockOwnerDeletion ?? false,
  };
}
