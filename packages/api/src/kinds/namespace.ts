import { create } from "@bufbuild/protobuf";
import { NamespaceSchema, NamespaceStatusSchema, type Namespace } from "../gen/kubelab/core/v1/namespace_pb.js";
import { registerKind } from "../registry.js";
import { age } from "./print.js";

registerKind<Namespace>({
  kind: "Namespace",
  apiVersion: "v1",
  resource: "namespaces",
  singular: "namespace",
  shortNames: ["ns"],
  namespaced: false,
  schema: NamespaceSchema,
  nameRule: "label",
  hasStatus: true,
  selectableFields: { "status.phase": (n) => n.status?.phase ?? "" },
  defaults: (ns) => {
    if (!ns.status) ns.status = create(NamespaceStatusSchema);
    if (!ns.status.phase) ns.status.phase = "Active";
  },
  columns: [
    { name: "STATUS", value: (n) => n.status?.phase ?? "" },
    { name: "AGE", value: (n, now) => age(n.metadata?.creationTimestamp, now) },
  ],
});
