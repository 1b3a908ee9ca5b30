import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POD_NETWORK_LABEL } from "@kubelab/api";
import { PodNetworkPlugin } from "@kubelab/kubelet";
import { startPodNetwork, type RunningPodNetwork } from "@kubelab/pod-network";
import { createLogger } from "@kubelab/service-kit";
import { freePort } from "@kubelab/testkit";
import { buildImages } from "../support/lab.js";

// The pod network plugin in this process, as root in the host's namespaces (as its container
// runs in the lab), against a real Docker bridge network and real pause containers, through the
// kubelet's own client. Everything made here carries this run's label and goes at the end.
const exec = promisify(execFile);
const docker = async (...args: string[]) => (await exec("docker", args)).stdout.trim();
const TEST_LABEL = `io.kubelab.test=pod-network-${process.pid}`;
const NET = `kubelab-pn-test-${process.pid}`;

describe("the pod network plugin", () => {
  let plugin: RunningPodNetwork;
  let client: PodNetworkPlugin;
  let networkId = "";

  const cleanUp = async () => {
    const ids = (await docker("ps", "-aq", "--filter", `label=${TEST_LABEL}`)).split("\n").filter(Boolean);
    if (ids.length) await docker("rm", "-f", ...ids);
    await docker("network", "rm", NET).catch(() => undefined);
  };
  const sandbox = async (labels: Record<string, string>) =>
    docker(
      "run",
      "-d",
      "--network",
      "none",
      "--label",
      TEST_LABEL,
      ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
      "kubelab/pause:dev",
    );
  const ping = (ip: string) =>
    exec("docker", ["run", "--rm", "--label", TEST_LABEL, "--network", NET, "kubelab/shell:dev", "ping", "-c", "1", "-W", "2", ip]);

  beforeAll(async () => {
    buildImages();
    await cleanUp();
    networkId = await docker("network", "create", "--label", TEST_LABEL, "--subnet", "10.213.0.0/16", NET);
    plugin = await startPodNetwork(
      {
        socket: path.join(os.tmpdir(), `kubelab-pod-network-${process.pid}.sock`),
        metricsPort: await freePort(),
        dockerHost: "/var/run/docker.sock",
      },
      createLogger("pod-network", () => {}),
    );
    client = new PodNetworkPlugin(plugin.socket, NET);
  });
  afterAll(async () => {
    client?.close();
    await plugin?.close();
    await cleanUp();
  });

  it("gives distinct addresses from the upper half of the subnet and wires a sandbox that the network reaches", async () => {
    const a = await client.allocate("test/a");
    const b = await client.allocate("test/b");
    expect(a).toMatchObject({ prefixLength: 16, gateway: "10.213.0.1", networkId });
    expect(a.ip).toBe("10.213.128.1");
    expect(b.ip).toBe("10.213.128.2");
    const id = await sandbox({ [POD_NETWORK_LABEL.ip]: a.ip, [POD_NETWORK_LABEL.network]: networkId });
    expect(await client.attach(id, [{ destination: "10.96.0.0/12", via: "10.213.0.5" }])).toBe(a.ip);
    const inside = await docker("exec", id, "sh", "-c", "ip -o -4 addr show eth0; ip route");
    expect(inside).toMatch(/eth0\s+inet 10\.213\.128\.1\/16 /);
    expect(inside).toContain("default via 10.213.0.1 dev eth0");
    expect(inside).toContain("10.96.0.0/12 via 10.213.0.5 dev eth0");
    await ping(a.ip);
    // Wiring again (a restarted kubelet does) leaves the sandbox as it is.
    expect(await client.attach(id, [])).toBe(a.ip);
    expect(await docker("exec", id, "ip", "route")).toContain("10.96.0.0/12 via 10.213.0.5");
    await ping(a.ip);
    // A listed sandbox keeps its address taken.
    expect((await client.allocate("test/c")).ip).toBe("10.213.128.3");
  });

  it("answers bad requests with the field and what is wrong, and wires nothing", async () => {
    await expect(new PodNetworkPlugin(plugin.socket, "").allocate("x")).rejects.toThrow("pod network plugin: network: required");
    await expect(new PodNetworkPlugin(plugin.socket, "no-such-network").allocate("x")).rejects.toThrow(
      'pod network plugin: network "no-such-network" not found',
    );
    await expect(client.attach("", [])).rejects.toThrow("pod network plugin: containerId: required");
    await expect(client.attach("0123456789ab", [{ destination: "10.96.0.0/12", via: "" }])).rejects.toThrow(
      "pod network plugin: routes[0]: destination and via are required",
    );
    await expect(client.attach("no-such-container", [])).rejects.toThrow('pod network plugin: container "no-such-container" not found');
    const unlabelled = await sandbox({});
    await expect(client.attach(unlabelled, [])).rejects.toThrow(/not labelled with an address on network/);
    const stopped = await sandbox({ [POD_NETWORK_LABEL.ip]: "10.213.128.9", [POD_NETWORK_LABEL.network]: networkId });
    await docker("stop", "-t", "0", stopped);
    await expect(client.attach(stopped, [])).rejects.toThrow(/not running/);
    // A wiring that fails half-way (a route the kernel refuses) leaves no host end behind.
    const bad = await sandbox({ [POD_NETWORK_LABEL.ip]: "10.213.128.10", [POD_NETWORK_LABEL.network]: networkId });
    await expect(client.attach(bad, [{ destination: "10.96.0.0/12", via: "192.0.2.1" }])).rejects.toThrow(/pod network plugin: wiring kl/);
    expect(
      await exec("ip", ["link", "show", `kl${bad.slice(0, 12)}`]).then(
        () => "present",
        () => "absent",
      ),
    ).toBe("absent");
  });
});
