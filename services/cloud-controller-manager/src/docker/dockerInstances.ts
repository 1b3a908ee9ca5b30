import { containerOfProviderID } from "@kubelab/api";
import type Docker from "dockerode";
import type { InstancesProvider } from "../cloudProvider.js";

/**
 * The lab's machines: each node is a Docker container (its Node's providerID names it). A
 * container that runs is a running machine, one that exists but does not run is shut down, one
 * Docker no longer has is gone. Without Docker's answer (the socket unreachable), nothing is known
 * and nothing is deleted.
 */
export class DockerInstances implements InstancesProvider {
  constructor(private readonly docker: Docker) {}

  async instanceState(providerID: string): Promise<"running" | "shutdown" | "missing" | "unknown"> {
    const id = containerOfProviderID(providerID);
    if (!id) return "unknown";
    try {
      const info = await this.docker.getContainer(id).inspect();
      return info.State.Running || info.State.Restarting ? "running" : "shutdown";
    } catch (e) {
      return (e as { statusCode?: number }).statusCode === 404 ? "missing" : "unknown";
    }
  }
}
