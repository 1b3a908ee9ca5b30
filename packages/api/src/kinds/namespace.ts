import { create } from "@bufbuild/protobuf";
import { NamespaceSchema, NamespaceSpecSchema, NamespaceStatusSchema, type Namespace } from "../gen/kubelab/core/v1/namespace_pb.js";
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
  // As Kubernetes: the "kubernetes" finalizer holds a deleted namespace until the namespace
  // controller has deleted everything in it.
  prepareForCreate: (ns) => {
    ns.spec = create(NamespaceSpecSchema, { finalizers: ["kubernetes"] });
  },
  specFinalizers: (ns) => ns.spec?.finalizers ?? [],
  onDeletionStart: (ns) => {
    ns.status = create(NamespaceStatusSchema, { phase: "Terminating" });
  },
  defaults: (ns) => {
    if (!ns.status) ns.status = create(NamespaceStatusSchema);
    if (!ns.status.phase) ns.status.phase = "Active";
  },
  columns: [
    { name: "STATUS", value: (n) => n.status?.phase ?? "" },
    { name: "AGE", value: (n, now) => age(n.metadata?.creationTimestamp, now) },
  ],
});
