import { objectToJson, printedName, type KindDefinition, type KubeObject } from "@kubelab/api";

/** Whether the client asked for meta.k8s.io Tables first (kubectl get does), as its Accept header lists them. */
export function wantsTable(accept: string | undefined): boolean {
  const first = (accept ?? "").split(",")[0] ?? "";
  return /;\s*as=Table/.test(first) && /g=meta\.k8s\.io/.test(first);
}

/**
 * A meta.k8s.io/v1 Table of objects with the kind's print columns, the same that `kubelab get`
 * prints: NAME, then the kind's columns (-o wide ones at priority 1, as kubectl shows them only
 * with -o wide); each row carries the object's metadata (PartialObjectMetadata), which kubectl
 * needs for its NAMESPACE column.
 */
export function tableOf(
  def: KindDefinition,
  objects: KubeObject[],
  meta: { resourceVersion?: string; continue?: string },
  now = new Date(),
) {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { ...(meta.resourceVersion && { resourceVersion: meta.resourceVersion }), ...(meta.continue && { continue: meta.continue }) },
    columnDefinitions: [
      { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 },
      ...def.columns.map((c) => ({ name: titleCase(c.name), type: "string", format: "", description: "", priority: c.wide ? 1 : 0 })),
    ],
    rows: objects.map((o) => ({
      cells: [printedName(def, o), ...def.columns.map((c) => c.value(o, now))],
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: objectToJson(o).metadata ?? {} },
    })),
  };
}

/**
 * "NOMINATED NODE" as Kubernetes' column names read ("Nominated Node", "Cluster-IP", "External-IP":
 * words capitalized, IP kept whole); kubectl prints them upper-cased.
 */
export function titleCase(name: string): string {
  return name
    .toLowerCase()
    .split(" ")
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w).replace(/(^|-)ips?(?=$|-)/gi, (m) => m.toUpperCase()))
    .join(" ");
}
