import { EventSchema, type Event } from "../gen/kubelab/core/v1/event_pb.js";
import { registerKind } from "../registry.js";
import { notSupported, required, type FieldError } from "../validation/fieldErrors.js";
import { age } from "./print.js";

registerKind<Event>({
  kind: "Event",
  apiVersion: "v1",
  resource: "events",
  singular: "event",
  shortNames: ["ev"],
  namespaced: true,
  schema: EventSchema,
  nameRule: "subdomain",
  hasStatus: false,
  selectableFields: {
    "involvedObject.kind": (e) => e.involvedObject?.kind ?? "",
    "involvedObject.namespace": (e) => e.involvedObject?.namespace ?? "",
    "involvedObject.name": (e) => e.involvedObject?.name ?? "",
    "involvedObject.uid": (e) => e.involvedObject?.uid ?? "",
    "involvedObject.fieldPath": (e) => e.involvedObject?.fieldPath ?? "",
    reason: (e) => e.reason,
    type: (e) => e.type,
    source: (e) => e.source?.component ?? e.reportingComponent,
    reportingComponent: (e) => e.reportingComponent,
  },
  defaults: (e) => {
    if (!e.type) e.type = "Normal";
    if (!e.count) e.count = 1;
  },
  validate: (e) => {
    const errs: FieldError[] = [];
    if (!e.involvedObject) errs.push(required("involvedObject"));
    if (!["Normal", "Warning"].includes(e.type)) errs.push(notSupported("type", e.type, ["Normal", "Warning"]));
    return errs;
  },
  columns: [
    { name: "LAST SEEN", value: (e, now) => age(e.lastTimestamp || e.eventTime || e.metadata?.creationTimestamp, now) },
    { name: "TYPE", value: (e) => e.type },
    { name: "REASON", value: (e) => e.reason },
    { name: "OBJECT", value: (e) => `${(e.involvedObject?.kind ?? "").toLowerCase()}/${e.involvedObject?.name ?? ""}` },
    { name: "MESSAGE", value: (e) => e.message },
  ],
});
