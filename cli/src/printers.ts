import table from "text-table";
import { stringify } from "yaml";
import { objectToJson, printedName, type KindDefinition, type KubeObject } from "@kubelab/api";

export type OutputFormat = "" | "wide" | "yaml" | "json" | "name";

export const OUTPUT_FORMATS: readonly OutputFormat[] = ["", "wide", "yaml", "json", "name"];

/** kubectl's table: NAME (after NAMESPACE with -A) and the kind's columns, three spaces apart. */
export function renderTable(
  def: KindDefinition,
  objects: KubeObject[],
  opts: { wide: boolean; withNamespace: boolean; headers: boolean; now?: Date },
): string {
  const now = opts.now ?? new Date();
  const columns = def.columns.filter((c) => opts.wide || !c.wide);
  const rows: string[][] = [];
  if (opts.headers) rows.push([...(opts.withNamespace ? ["NAMESPACE"] : []), "NAME", ...columns.map((c) => c.name)]);
  for (const o of objects) {
    rows.push([...(opts.withNamespace ? [o.metadata?.namespace ?? ""] : []), printedName(def, o), ...columns.map((c) => c.value(o, now))]);
  }
  return table(rows, { hsep: "   " });
}

const asList = (objects: KubeObject[]) => ({
  apiVersion: "v1",
  kind: "List",
  items: objects.map(objectToJson),
  metadata: { resourceVersion: "" },
});

export function renderObjects(objects: KubeObject[], format: "yaml" | "json", single: boolean): string {
  const doc = single && objects.length === 1 ? objectToJson(objects[0]) : asList(objects);
  return format === "json" ? JSON.stringify(doc, null, 4) : stringify(doc).trimEnd();
}

export function renderNames(def: KindDefinition, objects: KubeObject[]): string {
  return objects.map((o) => refOf(def, o)).join("\n");
}

/** kubectl's "kind.group/name": pod/web, deployment.apps/web. */
export const refOf = (def: KindDefinition, obj: KubeObject | string) =>
  `${def.singular}${def.apiVersion.includes("/") ? `.${def.apiVersion.split("/")[0]}` : ""}/${typeof obj === "string" ? obj : obj.metadata?.name}`;
