import type { ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume } from "@kubelab/api";
import { resourceRef } from "../pods/envResolver.js";
import type { Payload } from "./atomicWriter.js";

/** A volume that cannot be set up; the message is the kubelet's (after "MountVolume.SetUp failed for volume ..."). */
export class VolumeSetupError extends Error {}

/** The ConfigMaps and Secrets a pod's volumes name, as read for one sync (undefined: not found). */
export interface VolumeSources {
  configMaps: Map<string, ConfigMap | undefined>;
  secrets: Map<string, Secret | undefined>;
}

const DEFAULT_MODE = 0o644;

/** Every key of an object's data as bytes (a ConfigMap's data and binaryData, a Secret's data). */
function keysOf(obj: ConfigMap | Secret, kind: "configmap" | "secret"): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (kind === "configmap") {
    const cm = obj as ConfigMap;
    for (const [k, v] of Object.entries(cm.data)) out.set(k, Buffer.from(v, "utf8"));
    for (const [k, v] of Object.entries(cm.binaryData)) out.set(k, Buffer.from(v));
  } else {
    for (const [k, v] of Object.entries((obj as Secret).data)) out.set(k, Buffer.from(v));
  }
  return out;
}

/**
 * A ConfigMap's or Secret's files: every key (no items) or the items' keys at their paths, with
 * the item's mode or the volume's default. A missing object or key stops the mount unless the
 * source is optional, in the kubelet's words.
 */
export function objectPayload(
  kind: "configmap" | "secret",
  name: string,
  obj: ConfigMap | Secret | undefined,
  items: KeyToPath[],
  optional: boolean,
  defaultMode: number | undefined,
  into: Payload = new Map(),
): Payload {
  const mode = defaultMode ?? DEFAULT_MODE;
  if (!obj) {
    if (optional) return into;
    throw new VolumeSetupError(`${kind} "${name}" not found`);
  }
  const data = keysOf(obj, kind);
  if (items.length === 0) {
    for (const [k, v] of data) into.set(k, { data: v, mode });
    return into;
  }
  for (const item of items) {
    const v = data.get(item.key);
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeSetupError(
        kind === "configmap"
          ? `configmap references non-existent config key: ${item.key}`
          : `references non-existent secret key: ${item.key}`,
      );
    }
    into.set(item.path, { data: v, mode: item.mode ?? mode });
  }
  return into;
}

/** Kubernetes' fieldpath.FormatMap: key="value" lines, sorted by key, values quoted as Go quotes them. */
export function formatMap(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join("\n");
}

function fieldValue(pod: Pod, fieldPath: string): string {
  const m = pod.metadata!;
  const sub = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === "labels" ? m.labels : m.annotations)[sub[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.labels":
      return formatMap(m.labels);
    case "metadata.annotations":
      return formatMap(m.annotations);
    case "metadata.name":
      return m.name;
    case "metadata.namespace":
      return m.namespace;
    case "metadata.uid":
      return m.uid;
  }
  throw new VolumeSetupError(`unsupported fieldPath: ${fieldPath}`);
}

/** A downwardAPI volume's (or projection's) files, from the pod's fields and its containers' resources. */
export function downwardApiPayload(
  pod: Pod,
  items: DownwardAPIVolumeFile[],
  defaultMode: number | undefined,
  into: Payload = new Map(),
): Payload {
  for (const f of items) {
    let value: string;
    if (f.fieldRef) value = fieldValue(pod, f.fieldRef.fieldPath);
    else if (f.resourceFieldRef) {
      const c = pod.spec?.containers.find((x) => x.name === f.resourceFieldRef!.containerName);
      value = resourceRef(pod, c, f.resourceFieldRef);
    } else continue;
    into.set(f.path, { data: Buffer.from(value, "utf8"), mode: f.mode ?? defaultMode ?? DEFAULT_MODE });
  }
  return into;
}

/** Names of the ConfigMaps and Secrets a volume reads. */
export function sourcesOf(v: Volume): { configMaps: string[]; secrets: string[] } {
  const configMaps: string[] = [];
  const secrets: string[] = [];
  if (v.configMap) configMaps.push(v.configMap.name);
  if (v.secret) secrets.push(v.secret.secretName);
  for (const s of v.projected?.sources ?? []) {
    if (s.configMap) configMaps.push(s.configMap.name);
    if (s.secret) secrets.push(s.secret.name);
  }
  return { configMaps, secrets };
}

/**
 * The files of a volume the kubelet writes (configMap, secret, downwardAPI, projected); undefined
 * for the other kinds. A projected volume's sources write into one directory, in order.
 */
export function volumePayload(pod: Pod, v: Volume, sources: VolumeSources): Payload | undefined {
  if (v.configMap) {
    const c = v.configMap;
    return objectPayload("configmap", c.name, sources.configMaps.get(c.name), c.items, c.optional ?? false, c.defaultMode);
  }
  if (v.secret) {
    const s = v.secret;
    return objectPayload("secret", s.secretName, sources.secrets.get(s.secretName), s.items, s.optional ?? false, s.defaultMode);
  }
  if (v.downwardApi) return downwardApiPayload(pod, v.downwardApi.items, v.downwardApi.defaultMode);
  if (v.projected) {
    const out: Payload = new Map();
    const mode = v.projected.defaultMode;
    for (const s of v.projected.sources) {
      if (s.configMap)
        objectPayload(
          "configmap",
          s.configMap.name,
          sources.configMaps.get(s.configMap.name),
          s.configMap.items,
          s.configMap.optional ?? false,
          mode,
          out,
        );
      if (s.secret)
        objectPayload("secret", s.secret.name, sources.secrets.get(s.secret.name), s.secret.items, s.secret.optional ?? false, mode, out);
      if (s.downwardApi) downwardApiPayload(pod, s.downwardApi.items, mode, out);
    }
    return out;
  }
  return undefined;
}
