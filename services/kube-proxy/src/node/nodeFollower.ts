import os from "node:os";
import type { Readable } from "node:stream";
import Docker from "dockerode";
import type { Logger } from "@kubelab/service-kit";

/**
 * A kube-proxy shares its node container's network namespace. When the node container starts
 * again (after a stop or a kill), the node has a new namespace and this process is left in the
 * old one: it ends, and its restart policy brings it back into the node's new one. Returns a
 * stop function.
 */
export async function followNodeContainer(socketPath: string, log: Logger, onNodeRestart: () => void): Promise<() => void> {
  const docker = new Docker({ socketPath });
  // A container that joins another's network also takes its host name: the name leads to the
  // node container itself (or, run alone, to this one, whose start is never seen while it runs).
  let nodeId: string;
  try {
    const named = await docker.getContainer(os.hostname()).inspect();
    const joined = /^container:(.+)$/.exec(named.HostConfig.NetworkMode ?? "")?.[1];
    nodeId = joined ? (await docker.getContainer(joined).inspect()).Id : named.Id;
  } catch (e) {
    log.info("not following a node container", { reason: (e as Error).message });
    return () => undefined;
  }
  const stream = (await docker.getEvents({
    filters: { type: ["container"], event: ["start"], container: [nodeId] },
  })) as unknown as Readable;
  stream.on("data", () => {
    log.info("the node container started again: leaving its old network namespace", { node: nodeId.slice(0, 12) });
    onNodeRestart();
  });
  stream.on("error", (e) => log.warn("docker events stream failed", { error: e }));
  return () => stream.destroy();
}
