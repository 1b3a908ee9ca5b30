import { stringify } from "yaml";
import {
  age,
  objectToJson,
  type CronJob,
  type Endpoints,
  type HorizontalPodAutoscaler,
  type KubeObject,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type Service,
  type StorageClass,
} from "@kubelab/api";
import { ignoreNotFound } from "@kubelab/client";
import table from "text-table";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { resolveKinds } from "./resolve.js";
import { UsageError } from "../errors.js";
import { serviceDetails } from "./describeService.js";
import { hpaDetails } from "./describeHpa.js";
import { pvDetails, pvcDetails, storageClassDetails } from "./describeStorage.js";
import { cronJobDetails } from "./describeCronJob.js";

const indent = (text: string, by = "  ") =>
  text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");
const mapLines = (m: Record<string, string> | undefined) => {
  const entries = Object.entries(m ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(`\n${" ".repeat(13)}`) : "<none>";
};

/** kubectl-style describe: the metadata that matters, the rest as YAML, then the object's events. */
export async function describe(kindArg: string, names: string[], opts: GlobalOptions): Promise<void> {
  const [def] = resolveKinds(kindArg);
  if (names.length === 0) throw new UsageError("describe needs a name: kubelab describe KIND NAME");
  const client = connect(opts);
  try {
    for (const name of names) {
      const ns = def.namespaced ? namespaceOf(opts) : "";
      const obj: KubeObject = await client.get(def, ns, name);
      const m = obj.metadata!;
      const json = objectToJson(obj) as Record<string, unknown>;
      delete json.apiVersion;
      delete json.kind;
      delete json.metadata;
      const lines = [
        `Name:        ${m.name}`,
        ...(def.namespaced ? [`Namespace:   ${m.namespace}`] : []),
        `Labels:      ${mapLines(m.labels)}`,
        `Annotations: ${mapLines(m.annotations)}`,
        `CreationTimestamp: ${m.creationTimestamp}`,
        ...(m.deletionTimestamp ? [`DeletionTimestamp: ${m.deletionTimestamp}`] : []),
      ];
      if (def.resource === "services") {
        const eps = await ignoreNotFound(client.get<Endpoints>("endpoints", ns, name));
        lines.push(...serviceDetails(obj as Service, eps));
      } else if (def.resource === "horizontalpodautoscalers") {
        lines.push(...hpaDetails(obj as HorizontalPodAutoscaler));
      } else if (def.resource === "persistentvolumes") {
        lines.push(...pvDetails(obj as PersistentVolume));
      } else if (def.resource === "persistentvolumeclaims") {
        const pods = await client.listAll<Pod>("pods", { namespace: ns });
        const usedBy = pods.items
          .filter((p) => p.spec?.volumes.some((v) => v.persistentVolumeClaim?.claimName === name))
          .map((p) => p.metadata!.name);
        lines.push(...pvcDetails(obj as PersistentVolumeClaim, usedBy));
      } else if (def.resource === "storageclasses") {
        lines.push(...storageClassDetails(obj as StorageClass));
      } else if (def.resource === "cronjobs") {
        lines.push(...cronJobDetails(obj as CronJob));
      } else {
        lines.push(...Object.entries(json).map(([k, v]) => `${k[0].toUpperCase()}${k.slice(1)}:\n${indent(stringify(v).trimEnd())}`));
      }
      const events = await client.listAll("events", {
        namespace: def.namespaced ? ns : "default",
        fieldSelector: `involvedObject.name=${m.name},involvedObject.kind=${def.kind}`,
      });
      const now = new Date();
      const evRows = events.items
        .map(
          (e) =>
            e as unknown as {
              type: string;
              reason: string;
              message: string;
              lastTimestamp: string;
              eventTime: string;
              source?: { component: string };
              reportingComponent: string;
              metadata?: { creationTimestamp: string };
            },
        )
        .sort((a, b) => (a.lastTimestamp || a.eventTime).localeCompare(b.lastTimestamp || b.eventTime))
        .map((e) => [
          e.type,
          e.reason,
          age(e.lastTimestamp || e.eventTime || e.metadata?.creationTimestamp, now),
          e.source?.component || e.reportingComponent,
          e.message,
        ]);
      lines.push(
        evRows.length
          ? `Events:\n${indent(table([["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"], ...evRows], { hsep: "  " }))}`
          : "Events:      <none>",
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    }
  } finally {
    client.close();
  }
}
