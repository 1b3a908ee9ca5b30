// Nodes added to and removed from a running lab, as a cloud adds and removes machines: a new node
// is a copy of node-1's container (its image, settings, mounts and networks) under a new name,
// with a kube-proxy of its own in its network namespace; a removed node's containers go with
// everything its kubelet ran, as an instance that is gone takes its processes with it. What the
// API makes of it (registration, deletion of a Node whose machine is gone) is the cluster's job.
import type Docker from "dockerode";
import type { LabDocker } from "./labDocker.js";

/** The label of what `kubelab node add` made, so it can be told from compose's own nodes. */
export const ADDED_NODE_LABEL = "io.kubelab.added-node";
/** On a kube-proxy made for an added node: the node it proxies for. */
export const PROXIED_NODE_LABEL = "io.kubelab.proxied-node";
/** The node the kubelet labels each pod container with (services/kubelet/src/runtime/labels.ts). */
const POD_NODE_LABEL = "io.kubelab.node";
const POD_PROJECT_LABEL = "io.kubelab.project";
const TEMPLATE_NODE = "node-1";
const TEMPLATE_PROXY = "kube-proxy-1";

/** A node's name: a DNS label, as Kubernetes' node names are in practice. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The next free "node-N" after the lab's nodes. */
export function nextNodeName(existing: readonly string[]): string {
  const numbers = existing.map((n) => /^node-(\d+)$/.exec(n)?.[1]).filter((n): n is string => n !== undefined);
  return `node-${Math.max(0, ...numbers.map(Number)) + 1}`;
}

/** The kube-proxy of a node: compose's kube-proxy-N for node-N, kube-proxy-NAME for an added node named otherwise. */
export const proxyNameOf = (node: string) => `kube-proxy-${/^node-(\d+)$/.exec(node)?.[1] ?? node}`;

/** A command line with one node's name swapped for another's in its `--hostname-override`. */
export function withNodeName(cmd: readonly string[], name: string): string[] {
  return cmd.map((a) => (a.startsWith("--hostname-override=") ? `--hostname-override=${name}` : a));
}

/** A name of the template's (a container's, a volume's) made the new node's: "lab_node-1-state" → "lab_node-4-state". */
export function renamed(text: string, from: string, to: string): string {
  return text.replace(new RegExp(`(^|[-_])${from.replace(/[-]/g, "\\-")}(?=$|[-_])`, "g"), (_m, sep: string) => `${sep}${to}`);
}

/** Whether a name (a volume's) is the node's own: it carries the node's name as one of its parts. */
export const namesNode = (text: string, node: string) => renamed(text, node, "\u0000") !== text;

/** Labels of the copy: compose's service name and number set to the copy's, its config hash dropped (compose did not make it). */
export function copiedLabels(labels: Record<string, string>, service: string, extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...labels, ...extra };
  out["com.docker.compose.service"] = service;
  out["com.docker.compose.container-number"] = "1";
  delete out["com.docker.compose.config-hash"];
  return out;
}

interface Mount {
  Type?: string;
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
}

/** The template's mounts as binds for the copy: its own volumes (named after the template) renamed, shared ones as they are. */
export function copiedBinds(mounts: readonly Mount[], from: string, to: string): { binds: string[]; ownVolumes: Array<[string, string]> } {
  const binds: string[] = [];
  const ownVolumes: Array<[string, string]> = [];
  for (const m of mounts) {
    const mode = m.RW ? "" : ":ro";
    if (m.Type === "volume" && m.Name) {
      const name = renamed(m.Name, from, to);
      if (name !== m.Name) ownVolumes.push([m.Name, name]);
      binds.push(`${name}:${m.Destination}${mode}`);
    } else binds.push(`${m.Source}:${m.Destination}${mode}`);
  }
  return { binds, ownVolumes };
}

export class LabNodes {
  constructor(private readonly lab: LabDocker) {}

  private get docker(): Docker {
    return this.lab.docker;
  }

  /**
   * Adds a node named `name` (default: the next node-N): its volumes (copies of node-1's own, empty),
   * its container on the lab's networks, its kube-proxy; both started. The kubelet registers the node.
   */
  async add(name?: string): Promise<{ name: string; containers: string[] }> {
    const components = await this.lab.components();
    const existing = components.map((c) => c.name);
    const node = name ?? nextNodeName(existing.filter((n) => n.startsWith("node-")));
    if (!NODE_NAME.test(node))
      throw new Error(`invalid node name "${node}": a lowercase RFC 1123 label (letters, digits and '-', at most 63)`);
    const proxy = proxyNameOf(node);
    if (existing.includes(node) || existing.includes(proxy)) throw new Error(`the lab "${this.lab.project}" has a ${node} already`);
    const template = components.find((c) => c.name === TEMPLATE_NODE);
    const templateProxy = components.find((c) => c.name === TEMPLATE_PROXY);
    if (!template || !templateProxy)
      throw new Error(`the lab "${this.lab.project}" has no ${TEMPLATE_NODE} and ${TEMPLATE_PROXY} to copy a node from`);
    const t = await this.docker.getContainer(template.id).inspect();
    const { binds, ownVolumes } = copiedBinds(t.Mounts as Mount[], TEMPLATE_NODE, node);
    for (const [from, to] of ownVolumes) {
      const v = (await this.docker.getVolume(from).inspect()) as {
        Driver: string;
        Options?: Record<string, string> | null;
        Labels?: Record<string, string> | null;
      };
      const labels: Record<string, string> = { ...(v.Labels ?? {}), [ADDED_NODE_LABEL]: node };
      if (labels["com.docker.compose.volume"])
        labels["com.docker.compose.volume"] = renamed(labels["com.docker.compose.volume"], TEMPLATE_NODE, node);
      await this.docker.createVolume({ Name: to, Driver: v.Driver, DriverOpts: v.Options ?? {}, Labels: labels });
    }
    const networks = Object.keys(t.NetworkSettings.Networks ?? {});
    const [first, ...rest] = networks;
    const created = await this.docker.createContainer({
      name: renamed(t.Name.replace(/^\//, ""), TEMPLATE_NODE, node),
      Image: t.Config.Image,
      Cmd: withNodeName(t.Config.Cmd ?? [], node),
      Entrypoint: t.Config.Entrypoint ?? undefined,
      Env: t.Config.Env,
      WorkingDir: t.Config.WorkingDir,
      User: t.Config.User,
      Healthcheck: t.Config.Healthcheck,
      Labels: copiedLabels(t.Config.Labels ?? {}, node, { [ADDED_NODE_LABEL]: node }),
      HostConfig: {
        Binds: binds,
        RestartPolicy: t.HostConfig.RestartPolicy,
        CapAdd: t.HostConfig.CapAdd ?? undefined,
        Privileged: t.HostConfig.Privileged,
        SecurityOpt: t.HostConfig.SecurityOpt ?? undefined,
        Tmpfs: t.HostConfig.Tmpfs ?? undefined,
        Init: t.HostConfig.Init ?? undefined,
        NetworkMode: first,
      },
      NetworkingConfig: first ? { EndpointsConfig: { [first]: { Aliases: [node] } } } : undefined,
    });
    for (const net of rest) await this.docker.getNetwork(net).connect({ Container: created.id, EndpointConfig: { Aliases: [node] } });
    await created.start();
    const p = await this.docker.getContainer(templateProxy.id).inspect();
    const createdProxy = await this.docker.createContainer({
      name: renamed(p.Name.replace(/^\//, ""), TEMPLATE_PROXY, proxy),
      Image: p.Config.Image,
      Cmd: withNodeName(p.Config.Cmd ?? [], node),
      Entrypoint: p.Config.Entrypoint ?? undefined,
      Env: p.Config.Env,
      Labels: copiedLabels(p.Config.Labels ?? {}, proxy, { [ADDED_NODE_LABEL]: node, [PROXIED_NODE_LABEL]: node }),
      HostConfig: {
        Binds: copiedBinds(p.Mounts as Mount[], TEMPLATE_PROXY, proxy).binds,
        RestartPolicy: p.HostConfig.RestartPolicy,
        CapAdd: p.HostConfig.CapAdd ?? undefined,
        NetworkMode: `container:${created.id}`,
      },
    });
    await createdProxy.start();
    return { name: node, containers: [created.id, createdProxy.id] };
  }

  /**
   * Removes a node as a machine is lost: its container, its kube-proxy, the pods' containers its
   * kubelet ran and the node's own volumes, all at once (SIGKILL). The Node object stays for the
   * cluster to deal with.
   */
  async remove(name: string): Promise<{ removed: string[] }> {
    const components = await this.lab.components();
    const node = components.find((c) => c.name === name);
    if (!node) {
      const nodes = components.filter((c) => c.name.startsWith("node-") || c.kind === "node").map((c) => c.name);
      throw new Error(`no node named "${name}" in the lab "${this.lab.project}"; its nodes: ${nodes.join(", ")}`);
    }
    const info = await this.docker.getContainer(node.id).inspect();
    const proxy = components.find((c) => c.name === proxyNameOf(name));
    const pods = await this.docker.listContainers({
      all: true,
      filters: { label: [`${POD_NODE_LABEL}=${name}`, `${POD_PROJECT_LABEL}=${this.lab.project}`] },
    });
    const ids = [...(proxy ? [proxy.id] : []), node.id, ...pods.map((c) => c.Id)];
    for (const id of ids) await this.docker.getContainer(id).remove({ force: true, v: true });
    // The node's own volumes (copies made by add, or compose's per-node ones): the machine's disks.
    const own = (info.Mounts as Mount[]).filter((m) => m.Type === "volume" && m.Name && namesNode(m.Name, name));
    for (const m of own)
      await this.docker
        .getVolume(m.Name!)
        .remove({ force: true })
        .catch(() => undefined);
    return { removed: [name, ...(proxy ? [proxy.name] : []), ...pods.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id)] };
  }
}
