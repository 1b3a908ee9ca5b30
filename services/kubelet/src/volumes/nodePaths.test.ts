import { describe, expect, it } from "vitest";
import { hostPathOf, mountTypeOf } from "./nodePaths.js";

const node = {
  mounts: [
    { source: "/var/lib/docker/volumes/lab_kubelet-node-1/_data", destination: "/var/lib/kubelet" },
    { source: "/var/lib/docker/volumes/lab_kubelet-pods-node-1/_data", destination: "/var/lib/kubelet/pods" },
    { source: "/var/run/docker.sock", destination: "/var/run/docker.sock" },
  ],
  rootOnHost: "/var/lib/docker/overlay2/abc/merged",
};

describe("hostPathOf: a path inside the node, as the host's Docker daemon sees it", () => {
  it("goes through the mount with the longest destination that holds the path", () => {
    expect(hostPathOf(node, "/var/lib/kubelet/pods/u1/volumes")).toBe("/var/lib/docker/volumes/lab_kubelet-pods-node-1/_data/u1/volumes");
    expect(hostPathOf(node, "/var/lib/kubelet/plugins")).toBe("/var/lib/docker/volumes/lab_kubelet-node-1/_data/plugins");
    expect(hostPathOf(node, "/var/lib/kubelet")).toBe("/var/lib/docker/volumes/lab_kubelet-node-1/_data");
  });

  it("does not take a mount whose destination is only a prefix of a name", () => {
    expect(hostPathOf(node, "/var/lib/kubelet-memory/x")).toBe("/var/lib/docker/overlay2/abc/merged/var/lib/kubelet-memory/x");
  });

  it("falls back to the node's root filesystem, normalizing the path", () => {
    expect(hostPathOf(node, "/tmp/../data//logs/")).toBe("/var/lib/docker/overlay2/abc/merged/data/logs");
  });

  it("maps a path to itself when the node is the host", () => {
    expect(hostPathOf({ mounts: [] }, "/data")).toBe("/data");
  });
});

describe("mountTypeOf", () => {
  it("names the type of the innermost mount holding a directory", () => {
    const mounts = ["overlay / overlay rw 0 0", "/dev/vda /var/lib/kubelet ext4 rw 0 0", "tmpfs /var/lib/kubelet-memory tmpfs rw 0 0"].join(
      "\n",
    );
    expect(mountTypeOf(mounts, "/var/lib/kubelet-memory")).toBe("tmpfs");
    expect(mountTypeOf(mounts, "/var/lib/kubelet/pods")).toBe("ext4");
    expect(mountTypeOf(mounts, "/tmp")).toBe("overlay");
  });
});
