import { describe, expect, it } from "vitest";
import { copiedBinds, copiedLabels, namesNode, nextNodeName, proxyNameOf, renamed, withNodeName } from "./labNodes.js";

describe("a node copied from node-1", () => {
  it("is named after the lab's last node-N, with its kube-proxy named after it", () => {
    expect(nextNodeName(["node-1", "node-2", "node-3"])).toBe("node-4");
    expect(nextNodeName(["node-1", "node-7", "node-x"])).toBe("node-8");
    expect(nextNodeName([])).toBe("node-1");
    expect(proxyNameOf("node-4")).toBe("kube-proxy-4");
    expect(proxyNameOf("edge")).toBe("kube-proxy-edge");
  });

  it("renames only whole parts of names: containers, volumes and compose services", () => {
    expect(renamed("kubelab-node-1-1", "node-1", "node-4")).toBe("kubelab-node-4-1");
    expect(renamed("kubelab_node-1_1", "node-1", "node-4")).toBe("kubelab_node-4_1");
    expect(renamed("kubelab_node-1-storage", "node-1", "node-4")).toBe("kubelab_node-4-storage");
    expect(renamed("kubelab_node-10-storage", "node-1", "node-4")).toBe("kubelab_node-10-storage");
    expect(renamed("kubelab_pod-network", "node-1", "node-4")).toBe("kubelab_pod-network");
    expect(namesNode("kubelab_node-4-storage", "node-4")).toBe(true);
    expect(namesNode("kubelab_node-40-storage", "node-4")).toBe(false);
  });

  it("runs its kubelet under its own name, and carries compose's labels as its own service", () => {
    expect(withNodeName(["node", "--hostname-override=node-1", "--node-labels=zone=a"], "node-4")).toEqual([
      "node",
      "--hostname-override=node-4",
      "--node-labels=zone=a",
    ]);
    expect(
      copiedLabels(
        { "com.docker.compose.service": "node-1", "com.docker.compose.config-hash": "abc", "com.docker.compose.project": "lab" },
        "node-4",
        { "io.kubelab.added-node": "node-4" },
      ),
    ).toEqual({
      "com.docker.compose.service": "node-4",
      "com.docker.compose.container-number": "1",
      "com.docker.compose.project": "lab",
      "io.kubelab.added-node": "node-4",
    });
  });

  it("gets volumes of its own where node-1 has its own, and shares the rest", () => {
    const { binds, ownVolumes } = copiedBinds(
      [
        { Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock", RW: true },
        {
          Type: "volume",
          Name: "lab_pod-network",
          Source: "/var/lib/docker/volumes/lab_pod-network/_data",
          Destination: "/run/kubelab",
          RW: true,
        },
        { Type: "volume", Name: "lab_node-1-storage", Source: "/x", Destination: "/var/lib/kubelab/storage", RW: true },
        { Type: "bind", Source: "/sys/fs/cgroup", Destination: "/host/sys/fs/cgroup", RW: false },
      ],
      "node-1",
      "node-4",
    );
    expect(binds).toEqual([
      "/var/run/docker.sock:/var/run/docker.sock",
      "lab_pod-network:/run/kubelab",
      "lab_node-4-storage:/var/lib/kubelab/storage",
      "/sys/fs/cgroup:/host/sys/fs/cgroup:ro",
    ]);
    expect(ownVolumes).toEqual([["lab_node-1-storage", "lab_node-4-storage"]]);
  });
});
