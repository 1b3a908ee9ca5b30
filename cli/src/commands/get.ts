import type { KindDefinition, KubeObject } from "@kubelab/api";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { OUTPUT_FORMATS, renderNames, renderObjects, renderTable, type OutputFormat } from "../printers.js";
import { resolveKinds } from "./resolve.js";

export interface GetOptions extends GlobalOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  headers?: boolean;
}

function outputFormat(o: string | undefined): OutputFormat {
  const f = (o ?? "") as OutputFormat;
  if (!OUTPUT_FORMATS.includes(f))
    throw new UsageError(`unable to match a printer suitable for the output format "${o}", allowed formats are: json,name,wide,yaml`);
  return f;
}

function print(
  def: KindDefinition,
  objects: KubeObject[],
  format: OutputFormat,
  single: boolean,
  opts: GetOptions,
  headers: boolean,
): void {
  if (format === "yaml" || format === "json") process.stdout.write(`${renderObjects(objects, format, single)}\n`);
  else if (format === "name") process.stdout.write(`${renderNames(def, objects)}\n`);
  else {
    const text = renderTable(def, objects, { wide: format === "wide", withNamespace: !!opts.allNamespaces && def.namespaced, headers });
    if (text) process.stdout.write(`${text}\n`);
  }
}

export async function get(kindsArg: string, names: string[], opts: GetOptions): Promise<void> {
  const format = outputFormat(opts.output);
  const kinds = resolveKinds(kindsArg);
  if (names.length && kinds.length > 1) throw new UsageError("you must specify only one resource type when naming objects");
  if (opts.watch && kinds.length > 1) throw new UsageError("you may only specify a single resource type with --watch");
  const client = connect(opts);
  const ns = opts.allNamespaces ? "" : namespaceOf(opts);
  try {
    for (const [i, def] of kinds.entries()) {
      const namespace = def.namespaced ? ns : "";
      let objects: KubeObject[];
      let resourceVersion = "";
      if (names.length) {
        objects = [];
        for (const name of names) objects.push(await client.get(def, namespace || namespaceOf(opts), name));
      } else {
        const res = await client.listAll(def, { namespace, labelSelector: opts.selector, fieldSelector: opts.fieldSelector, limit: 500 });
        objects = res.items;
        resourceVersion = res.resourceVersion;
      }
      // As kubectl: an empty list is still a List for a machine-readable format, and a note for a person.
      if (objects.length === 0 && !opts.watch && format !== "json" && format !== "yaml") {
        process.stderr.write(namespace ? `No resources found in ${namespace} namespace.\n` : "No resources found\n");
        continue;
      }
      if (i > 0) process.stdout.write("\n");
      print(def, objects, format, names.length === 1, opts, opts.headers !== false);
      if (opts.watch) {
        if (!resourceVersion)
          resourceVersion = objects.reduce(
            (rv, o) => (Number(o.metadata?.resourceVersion) > Number(rv) ? o.metadata!.resourceVersion : rv),
            "0",
          );
        const stream = client.watch(def, {
          namespace,
          labelSelector: opts.selector,
          fieldSelector: [opts.fieldSelector, names.length === 1 ? `metadata.name=${names[0]}` : ""].filter(Boolean).join(","),
          resourceVersion,
        });
        process.once("SIGINT", () => stream.stop());
        let printedHeader = objects.length > 0;
        for await (const ev of stream) {
          if (ev.type === "BOOKMARK") continue;
          print(def, [ev.object], format, true, opts, !printedHeader && opts.headers !== false);
          printedHeader = true;
        }
      }
    }
  } finally {
    client.close();
  }
}
