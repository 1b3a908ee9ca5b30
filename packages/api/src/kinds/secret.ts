import { SecretSchema, type Secret } from "../gen/kubelab/core/v1/config_pb.js";
import { registerKind } from "../registry.js";
import { invalid } from "../validation/fieldErrors.js";
import { age } from "./print.js";
import { validateConfigDataSize, validateConfigKeys, validateImmutableData } from "./configData.js";

const sameData = (a: Record<string, Uint8Array>, b: Record<string, Uint8Array>) =>
  Object.keys(a).length === Object.keys(b).length &&
  Object.entries(a).every(([k, v]) => b[k] !== undefined && Buffer.from(v).equals(Buffer.from(b[k])));

registerKind<Secret>({
  kind: "Secret",
  apiVersion: "v1",
  resource: "secrets",
  singular: "secret",
  shortNames: [],
  namespaced: true,
  schema: SecretSchema,
  nameRule: "subdomain",
  hasStatus: false,
  selectableFields: { type: (s) => s.type },
  defaults: (s) => {
    if (!s.type) s.type = "Opaque";
    // stringData is write-only: Kubernetes merges it into data, stringData winning.
    for (const [k, v] of Object.entries(s.stringData)) s.data[k] = new TextEncoder().encode(v);
    s.stringData = {};
  },
  validate: (s) => [...validateConfigKeys("data", Object.keys(s.data)), ...validateConfigDataSize("data", Object.values(s.data))],
  validateUpdate: (s, old) => [
    ...(s.type !== old.type ? [invalid("type", s.type, "field is immutable")] : []),
    ...validateImmutableData(old.immutable, s.immutable, !sameData(s.data, old.data)),
  ],
  columns: [
    { name: "TYPE", value: (s) => s.type },
    { name: "DATA", value: (s) => String(Object.keys(s.data).length) },
    { name: "AGE", value: (s, now) => age(s.metadata?.creationTimestamp, now) },
  ],
});
