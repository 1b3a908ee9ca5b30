import { create } from "@bufbuild/protobuf";
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, TolerationSchema, type KubeObject, type Pod } from "@kubelab/api";

export interface AdmissionOptions {
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

/**
 * Kubernetes' DefaultTolerationSeconds admission plugin: every pod tolerates a not-ready or
 * unreachable node for a while (300 s by default) before the node lifecycle controller evicts it.
 */
export function admitOnCreate(obj: KubeObject, opts: AdmissionOptions): void {
  if (obj.$typeName !== "kubelab.core.v1.Pod") return;
  const pod = obj as Pod;
  if (!pod.spec) return;
  for (const [key, seconds] of [
    [TAINT_NODE_NOT_READY, opts.defaultNotReadyTolerationSeconds],
    [TAINT_NODE_UNREACHABLE, opts.defaultUnreachableTolerationSeconds],
  ] as const) {
    const has = pod.spec.tolerations.some(
      (t) => (t.key === key || (t.key === "" && t.operator === "Exists")) && (t.effect === "NoExecute" || t.effect === ""),
    );
    if (!has) {
      pod.spec.tolerations.push(create(TolerationSchema, { key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds }));
    }
  }
}
