import { execFile } from "node:child_process";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNetworkNamespaceSharers } from "@kubelab/kubelet";
import { createLogger } from "@kubelab/service-kit";
import { buildImages } from "../support/lab.js";

// What a Docker daemon restart does to a node's kube-proxy, made by hand with real containers: a
// "node" and a container in its network namespace (as compose makes kube-proxy-N with
// network_mode service:node-N), the sharer's start tried while the node is down. Everything made
// here carries this run's label and goes at the end.
const exec = promisify(execFile);
const docker = async (...args: string[]) => (await exec("docker", args)).stdout.trim();
const TEST_LABEL = `io.kubelab.test=netns-sharers-${process.pid}`;

describe("a node's kubelet and the containers of its network namespace", () => {
  const log = createLogger("kubelet", () => {});
  const api = new Docker({ socketPath: "/var/run/docker.sock" });
  let node = "";
  const state = async (id: string) =>
    JSON.parse(await docker("inspect", "--format", "{{json .State}}", id)) as { Status: string; Error: string };
  const cleanUp = async () => {
    const ids = (await docker("ps", "-aq", "--filter", `label=${TEST_LABEL}`)).split("\n").filter(Boolean);
    if (ids.length) await docker("rm", "-f", ...ids);
  };

  beforeAll(async () => {
    buildImages();
    await cleanUp();
    node = await docker("run", "-d", "--label", TEST_LABEL, "--restart", "unless-stopped", "kubelab/pause:dev");
  });
  afterAll(cleanUp);

  it("starts one whose start failed while the node was down, and leaves one stopped by hand", async () => {
    const proxy = await docker(
      "run",
      "-d",
      "--label",
      TEST_LABEL,
      "--restart",
      "unless-stopped",
      "--network",
      `container:${node}`,
      "kubelab/pause:dev",
    );
    const stoppedByHand = await docker(
      "run",
      "-d",
      "--label",
      TEST_LABEL,
      "--restart",
      "unless-stopped",
      "--network",
      `container:${node}`,
      "kubelab/pause:dev",
    );
    await docker("stop", "-t", "1", stoppedByHand);
    await docker("stop", "-t", "1", proxy);
    await docker("stop", "-t", "1", node);
    // What the daemon does at its start when it tries the sharer first.
    await expect(docker("start", proxy)).rejects.toThrow(/cannot join network of a non running container/);
    expect((await state(proxy)).Error).toMatch(/non running container/);

    await docker("start", node);
    const started = await startNetworkNamespaceSharers(api, node, log);
    expect(started).toHaveLength(1);
    expect((await state(proxy)).Status).toBe("running");
    expect((await state(stoppedByHand)).Status).toBe("exited");
    // Once running, it is in the node's network namespace.
    const netns = async (id: string) => docker("exec", id, "readlink", "/proc/1/ns/net");
    expect(await netns(proxy)).toBe(await netns(node));
    expect(await startNetworkNamespaceSharers(api, node, log)).toEqual([]);
  });
});
