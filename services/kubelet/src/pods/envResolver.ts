import type { ConfigMap, Container, Pod, Secret } from "@kubelab/api";
import { milliValue, wholeValue } from "@kubelab/api";
import { type ApiClient, ignoreNotFound } from "@kubelab/client";

/** A container that cannot be configured (Kubernetes' CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

export interface PodFacts {
  /** The pod IP, known once the sandbox has started: only awaited when an env var asks for it. */
  podIP: () => Promise<string>;
  hostIP: string;
}

/**
 * Kubernetes' $(VAR) expansion in env values, command and args: $(NAME) of a defined variable is
 * replaced, $$ is an escaped $, and anything else is left as written. Hand-written because the
 * rule is Kubernetes' own (third_party/forked/golang/expansion) and no npm package follows it.
 */
export function expand(input: string, vars: Map<string, string>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += vars.has(name) ? vars.get(name) : `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

async function fieldRef(pod: Pod, facts: PodFacts, path: string): Promise<string> {
  const m = pod.metadata!;
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return (label[1] === "labels" ? m.labels : m.annotations)[label[2]!] ?? "";
  switch (path) {
    case "metadata.name":
      return m.name;
    case "metadata.namespace":
      return m.namespace;
    case "metadata.uid":
      return m.uid;
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.podIP":
      return facts.podIP();
    case "status.hostIP":
      return facts.hostIP;
    case "status.podIPs":
      return facts.podIP();
    case "status.hostIPs":
      return facts.hostIP;
  }
  throw new ContainerConfigError(`unsupported fieldRef ${path}`);
}

/** A resourceFieldRef's value: the quantity divided by the divisor, rounded up (Kubernetes' ExtractResourceValueByContainerName). */
export function resourceRef(
  pod: Pod,
  container: Container | undefined,
  ref: { containerName: string; resource: string; divisor: string },
): string {
  const target = ref.containerName ? pod.spec?.containers.find((c) => c.name === ref.containerName) : container;
  const [kind, name] = ref.resource.split(".") as [string, string];
  const value = target?.resources?.[kind === "limits" ? "limits" : "requests"][name];
  if (!value) return "0";
  if (name === "cpu") return String(Math.ceil(milliValue(value) / milliValue(ref.divisor || "1")));
  return String(Math.ceil(wholeValue(value) / wholeValue(ref.divisor || "1")));
}

/** Reads ConfigMaps and Secrets once per sync of a container, as the kubelet does at start. */
class SourceCache {
  private readonly configMaps = new Map<string, ConfigMap | null>();
  private readonly secrets = new Map<string, Secret | null>();
  constructor(
    private readonly client: ApiClient,
    private readonly namespace: string,
  ) {}

  async configMap(name: string): Promise<ConfigMap | null> {
    if (!this.configMaps.has(name)) this.configMaps.set(name, await this.fetch<ConfigMap>("configmaps", name));
    return this.configMaps.get(name)!;
  }
  async secret(name: string): Promise<Secret | null> {
    if (!this.secrets.has(name)) this.secrets.set(name, await this.fetch<Secret>("secrets", name));
    return this.secrets.get(name)!;
  }
  private async fetch<T extends ConfigMap | Secret>(resource: string, name: string): Promise<T | null> {
    return (await ignoreNotFound(this.client.get<T>(resource, this.namespace, name))) ?? null;
  }
}

const decode = (b: Uint8Array) => Buffer.from(b).toString("utf8");

/** The container's environment in Docker's NAME=value form, in Kubernetes' order and precedence. */
export async function resolveEnv(client: ApiClient, pod: Pod, container: Container, facts: PodFacts): Promise<string[]> {
  const ns = pod.metadata!.namespace;
  const sources = new SourceCache(client, ns);
  const vars = new Map<string, string>();
  for (const from of container.envFrom) {
    if (from.configMapRef) {
      const cm = await sources.configMap(from.configMapRef.name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data)) vars.set(from.prefix + k, v);
    } else if (from.secretRef) {
      const s = await sources.secret(from.secretRef.name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data)) vars.set(from.prefix + k, decode(v));
    }
  }
  for (const e of container.env) {
    const src = e.valueFrom;
    if (!src) {
      vars.set(e.name, expand(e.value, vars));
    } else if (src.fieldRef) {
      vars.set(e.name, await fieldRef(pod, facts, src.fieldRef.fieldPath));
    } else if (src.resourceFieldRef) {
      vars.set(e.name, resourceRef(pod, container, src.resourceFieldRef));
    } else if (src.configMapKeyRef) {
      const ref = src.configMapKeyRef;
      const cm = await sources.configMap(ref.name);
      const v = cm?.data[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          cm ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}` : `configmap "${ref.name}" not found`,
        );
      }
      vars.set(e.name, v);
    } else if (src.secretKeyRef) {
      const ref = src.secretKeyRef;
      const s = await sources.secret(ref.name);
      const v = s?.data[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(s ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`);
      }
      vars.set(e.name, decode(v));
    }
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

export function envMap(env: string[]): Map<string, string> {
  return new Map(
    env.map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
    }),
  );
}
