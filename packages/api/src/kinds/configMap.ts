import { equals } from "@bufbuild/protobuf";
import { ConfigMapSchema, type ConfigMap } from "../gen/kubelab/core/v1/config_pb.js";
import { registerKind } from "../registry.js";
import { age } from "./print.js";
import { validateConfigDataSize, validateConfigKeys, validateImmutableData } from "./configData.js";

registerKind<ConfigMap>({
  kind: "ConfigMap",
  apiVersion: "v1",
  resource: "configmaps",
  singular: "configmap",
  shortNames: ["cm"],
  namespaced: true,
  schema: ConfigMapSchema,
  nameRule: "subdomain",
  hasStatus: false,
  validate: (cm) => {
    const seen = new Set<string>();
    return [
      ...validateConfigKeys("data", Object.keys(cm.data), seen),
      ...validateConfigKeys("binaryData", Object.keys(cm.binaryData), seen),
      ...validateConfigDataSize("[]", [...Object.values(cm.data), ...Object.values(cm.binaryData)]),
    ];
  },
  validateUpdate: (cm, old) =>
    validateImmutableData(
      old.immutable,
      cm.immutable,
      !equals(ConfigMapSchema, { ...cm, metadata: undefined, immutable: undefined }, { ...old, metadata: undefined, immutable: undefined }),
    ),
  columns: [
    { name: "DATA", value: (c) => String(Object.keys(c.data).length + Object.keys(c.binaryData).length) },
    { name: "AGE", value: (c, now) => age(c.metadata?.creationTimestamp, now) },
  ],
});
