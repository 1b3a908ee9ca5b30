import { clone, create } from "@bufbuild/protobuf";
import {
  InvalidObjectError,
  PodConditionSchema,
  PodSchema,
  PodStatusSchema,
  formatTime,
  kindForResource,
  required,
  type KubeObject,
  type Pod,
} from "@kubelab/api";
import { bindingConflict } from "../apiErrors.js";
import type { ObjectService } from "./objectService.js";

/**
 * The pods/binding subresource, kept apart from the generic store as Kubernetes keeps BindingREST:
 * sets a pod's spec.nodeName once and marks it PodScheduled, through the store's guaranteed
 * update. A pod that has a node, is being deleted, or is not the `uid` asked for is refused
 * (Conflict), so two schedulers never both place it.
 */
export function bindPod(
  store: Pick<ObjectService, "guaranteedUpdate">,
  namespace: string,
  name: string,
  nodeName: string,
  uid: string,
): Promise<KubeObject> {
  const def = kindForResource("pods")!;
  if (!nodeName) throw new InvalidObjectError("Binding", name, [required("target.name")]);
  return store.guaranteedUpdate(def, namespace || "default", name, (cur) => {
    const pod = clone(PodSchema, cur.obj as Pod);
    const m = pod.metadata!;
    if (uid && m.uid !== uid) throw bindingConflict(name, `the pod's uid is ${m.uid}, not ${uid}`);
    if (m.deletionTimestamp) throw bindingConflict(name, `pod ${name} is being deleted, cannot be assigned to a host`);
    if (pod.spec!.nodeName) throw bindingConflict(name, `pod ${name} is already assigned to node "${pod.spec!.nodeName}"`);
    pod.spec!.nodeName = nodeName;
    const status = (pod.status ??= create(PodStatusSchema));
    const now = formatTime();
    const cond = status.conditions.find((c) => c.type === "PodScheduled");
    if (cond) {
      if (cond.status !== "True") cond.lastTransitionTime = now;
      Object.assign(cond, { status: "True", reason: "", message: "" });
    } else {
      status.conditions.push(create(PodConditionSchema, { type: "PodScheduled", status: "True", lastTransitionTime: now }));
    }
    return pod;
  });
}
