import { ReplicaSetSchema, type ReplicaSet } from "../gen/kubelab/apps/v1/apps_pb.js";
import { registerKind } from "../registry.js";
import { age } from "./print.js";
import {
  defaultTemplate,
  nonNegative,
  selectorString,
  templateContainers,
  validateSelectorImmutable,
  validateTemplate,
} from "./workloadTemplate.js";

registerKind<ReplicaSet>({
  kind: "ReplicaSet",
  apiVersion: "apps/v1",
  resource: "replicasets",
  categories: ["all"],
  singular: "replicaset",
  shortNames: ["rs"],
  namespaced: true,
  schema: ReplicaSetSchema,
  nameRule: "subdomain",
  hasStatus: true,
  defaults: (rs) => {
    if (!rs.spec) return;
    if (rs.spec.replicas === undefined) rs.spec.replicas = 1;
    defaultTemplate(rs.spec.template);
  },
  validate: (rs) => [
    ...nonNegative("spec.replicas", rs.spec?.replicas),
    ...nonNegative("spec.minReadySeconds", rs.spec?.minReadySeconds),
    ...validateTemplate(rs.spec?.template, rs.spec?.selector, "ReplicaSet", ["Always"]),
  ],
  validateUpdate: (rs, old) => validateSelectorImmutable(rs.spec?.selector, old.spec?.selector),
  columns: [
    { name: "DESIRED", value: (rs) => String(rs.spec?.replicas ?? 0) },
    { name: "CURRENT", value: (rs) => String(rs.status?.replicas ?? 0) },
    { name: "READY", value: (rs) => String(rs.status?.readyReplicas ?? 0) },
    { name: "AGE", value: (rs, now) => age(rs.metadata?.creationTimestamp, now) },
    { name: "CONTAINERS", value: (rs) => templateContainers(rs.spec?.template).names, wide: true },
    { name: "IMAGES", value: (rs) => templateContainers(rs.spec?.template).images, wide: true },
    { name: "SELECTOR", value: (rs) => selectorString(rs.spec?.selector), wide: true },
  ],
});
