import type Docker from "dockerode";
import type { Logger } from "@kubelab/service-kit";

/** What is needed of a container to decide whether the node starts it. */
export interface SharerView {
  networkMode: string;
  status: string;
  /** Docker's note of why the container's last start failed; empty when it did not. */
  startError: string;
  restartPolicy: string;
}

/**
 * A container in this node's network namespace (the node's kube-proxy, composed with
 * `network_mode: service:node-N`) that Docker tried to start while the node was not running: it
 * failed ("cannot join network of a non running container") and Docker never tries again. That
 * happens when the Docker daemon restarts, since it starts the containers it restores in no
 * particular order. One stopped by hand (no start error) or meant to stay stopped (no restart
 * policy) is left alone.
 */
export function failedToStartBesideNode(c: SharerView, nodeContainerId: string): boolean {
  return (
    c.networkMode === `container:${nodeContainerId}` &&
    c.status === "exited" &&
    c.startError !== "" &&
    (c.restartPolicy === "always" || c.restartPolicy === "unless-stopped")
  );
}

/**
 * Starts the containers that share this node's network namespace and could not start before the
 * node did, as a real node's kubelet runs its kube-proxy. Returns the names it started.
 */
export async function startNetworkNamespaceSharers(docker: Docker, nodeContainerId: string, log: Logger): Promise<string[]> {
  const started: string[] = [];
  const exited = await docker.listContainers({ all: true, filters: { status: ["exited", "created"] } });
  for (const summary of exited) {
    if (summary.HostConfig?.NetworkMode !== `container:${nodeContainerId}`) continue;
    const info = await docker.getContainer(summary.Id).inspect();
    const view = {
      networkMode: info.HostConfig.NetworkMode ?? "",
      status: info.State.Status,
      startError: info.State.Error ?? "",
      restartPolicy: info.HostConfig.RestartPolicy?.Name ?? "",
    };
    if (!failedToStartBesideNode(view, nodeContainerId)) continue;
    const name = info.Name.replace(/^\//, "");
    try {
      await docker.getContainer(summary.Id).start();
      started.push(name);
      log.info("started a container of this node's network namespace that could not start before the node", {
        container: name,
        error: view.startError,
      });
    } catch (e) {
      log.warn("could not start a container of this node's network namespace", { container: name, error: e });
    }
  }
  return started;
}
