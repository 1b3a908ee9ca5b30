import os from "node:os";
import type Docker from "dockerode";

export interface DiscoveredNode {
  /** This kubelet's own container, when it runs in one. */
  containerId?: string;
  project?: string;
  /** The Docker network of pods. */
  podNetwork?: string;
  /** The address on the network other components reach the kubelet by. */
  internalIP?: string;
  /** Address on the pod network (the hostIP pods see). */
  podNetworkIP?: string;
}

/**
 * A node of the lab is a container; the kubelet learns what it needs by inspecting itself (its
 * hostname is its container id): the pod network (labelled io.kubelab.network=pods), its compose
 * project, and its addresses. Outside a container, nothing is found and flags must say.
 */
export async function discoverNode(docker: Docker): Promise<DiscoveredNode> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(os.hostname()).inspect();
  } catch {
    return {};
  }
  const out: DiscoveredNode = {
    containerId: info.Id,
    project: info.Config.Labels?.["com.docker.compose.project"],
  };
  const networks = info.NetworkSettings.Networks ?? {};
  for (const [name, net] of Object.entries(networks)) {
    const labels = (await docker
      .getNetwork(name)
      .inspect()
      .catch(() => ({ Labels: {} }))) as { Labels?: Record<string, string> };
    if (labels.Labels?.["io.kubelab.network"] === "pods") {
      out.podNetwork = name;
      out.podNetworkIP = net.IPAddress;
    } else if (!out.internalIP) {
      out.internalIP = net.IPAddress;
    }
  }
  if (!out.internalIP) out.internalIP = out.podNetworkIP;
  return out;
}
