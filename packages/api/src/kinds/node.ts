import { NodeSchema, type Node } from "../gen/kubelab/core/v1/node_pb.js";
import { registerKind } from "../registry.js";
import { type FieldError, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { qualifiedNameErrors } from "../validation/labels.js";
import { isQuantity, QUANTITY_REGEX_MESSAGE } from "../quantity.js";
import { age, orNone } from "./print.js";

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  node.spec?.taints.forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!t.key) errs.push(required(`${p}.key`));
    else for (const m of qualifiedNameErrors(t.key)) errs.push(invalid(`${p}.key`, t.key, m));
    if (!t.effect) errs.push(required(`${p}.effect`));
    else if (!TAINT_EFFECTS.includes(t.effect as never)) errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
  });
  for (const part of ["capacity", "allocatable"] as const) {
    for (const [k, q] of Object.entries(node.status?.[part] ?? {})) {
      if (!isQuantity(q)) errs.push(invalid(`status.${part}[${k}]`, q, QUANTITY_REGEX_MESSAGE));
    }
  }
  return errs;
}

export function nodeReadyStatus(node: Node): string {
  const ready = node.status?.conditions.find((c) => c.type === "Ready");
  // kubectl: Ready when the condition is True, NotReady otherwise (False or Unknown), Unknown without one.
  let s = !ready ? "Unknown" : ready.status === "True" ? "Ready" : "NotReady";
  if (node.spec?.unschedulable) s += ",SchedulingDisabled";
  return s;
}

registerKind<Node>({
  kind: "Node",
  apiVersion: "v1",
  resource: "nodes",
  singular: "node",
  shortNames: ["no"],
  namespaced: false,
  schema: NodeSchema,
  nameRule: "subdomain",
  hasStatus: true,
  selectableFields: { "spec.unschedulable": (n) => String(n.spec?.unschedulable ?? false) },
  validate: validateNode,
  columns: [
    { name: "STATUS", value: nodeReadyStatus },
    {
      name: "ROLES",
      value: (n) =>
        orNone(
          Object.keys(n.metadata?.labels ?? {})
            .filter((k) => k.startsWith("node-role.kubernetes.io/"))
            .map((k) => k.slice("node-role.kubernetes.io/".length))
            .join(","),
        ),
    },
    { name: "AGE", value: (n, now) => age(n.metadata?.creationTimestamp, now) },
    { name: "VERSION", value: (n) => orNone(n.status?.nodeInfo?.kubeletVersion) },
    { name: "INTERNAL-IP", value: (n) => orNone(n.status?.addresses.find((a) => a.type === "InternalIP")?.address), wide: true },
    { name: "EXTERNAL-IP", value: (n) => orNone(n.status?.addresses.find((a) => a.type === "ExternalIP")?.address), wide: true },
    { name: "OS-IMAGE", value: (n) => orNone(n.status?.nodeInfo?.osImage), wide: true },
    { name: "KERNEL-VERSION", value: (n) => orNone(n.status?.nodeInfo?.kernelVersion), wide: true },
    { name: "CONTAINER-RUNTIME", value: (n) => orNone(n.status?.nodeInfo?.containerRuntimeVersion), wide: true },
  ],
});
