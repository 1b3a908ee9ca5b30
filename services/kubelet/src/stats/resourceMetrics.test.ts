import { describe, expect, it } from "vitest";
import type { ResourceUsage } from "@kubelab/service-kit";
import { rc } from "../testing/runtimeContainers.js";
import { buildResourceSnapshot } from "./resourceMetrics.js";

const at = (cpuUsageSeconds: number, memoryWorkingSetBytes: number, timestampMs = 1000): ResourceUsage => ({
  cpuUsageSeconds,
  memoryWorkingSetBytes,
  timestampMs,
});

const sandbox = rc({ id: "pod-p", name: "POD", type: "sandbox" });
const app = rc({ id: "app-p" });

describe("buildResourceSnapshot", () => {
  it("counts the sandbox in its pod's usage but does not list it as a container", () => {
    const s = buildResourceSnapshot({
      containers: [sandbox, app],
      usage: new Map([
        ["pod-p", at(0.5, 100, 1001)],
        ["app-p", at(2, 1000, 1002)],
      ]),
    });
    expect(s.pods).toEqual([
      {
        namespace: "default",
        name: "p",
        uid: "u",
        cpuUsageSeconds: 2.5,
        memoryWorkingSetBytes: 1100,
        timestampMs: 1002,
        containers: [{ name: "app", cpuUsageSeconds: 2, memoryWorkingSetBytes: 1000, timestampMs: 1002, startTimeSeconds: 1_767_225_600 }],
      },
    ]);
  });

  it("makes the node its own container plus all its pods, stamped with the latest reading", () => {
    const other = rc({ id: "app-q", podUid: "v", podName: "q" });
    const s = buildResourceSnapshot({
      containers: [sandbox, app, other],
      usage: new Map([
        ["node", at(10, 5000, 999)],
        ["pod-p", at(0.5, 100)],
        ["app-p", at(2, 1000)],
        ["app-q", at(1, 10, 1003)],
      ]),
      nodeContainerId: "node",
    });
    expect(s.node).toEqual({ cpuUsageSeconds: 13.5, memoryWorkingSetBytes: 6110, timestampMs: 1003 });
    expect(s.pods.map((p) => p.name)).toEqual(["p", "q"]);
    expect(s.scrapeError).toBe(false);
  });

  it("leaves out containers not running or not read (exited before their cgroup was), and pods with none left", () => {
    const s = buildResourceSnapshot({
      containers: [sandbox, app, rc({ id: "setup-p", name: "setup", type: "init", state: "exited" }), rc({ id: "x", podUid: "v" })],
      usage: new Map([
        ["pod-p", at(0.5, 100)],
        ["setup-p", at(9, 9)],
      ]),
    });
    expect(s.pods).toHaveLength(1);
    expect(s.pods[0]).toMatchObject({ cpuUsageSeconds: 0.5, memoryWorkingSetBytes: 100, containers: [] });
  });

  it("counts both runs of a container running at once toward the pod, and lists the newer", () => {
    const s = buildResourceSnapshot({
      containers: [rc({ id: "app-1", attempt: 1 }), rc({ id: "app-0", attempt: 0 })],
      usage: new Map([
        ["app-0", at(1, 1)],
        ["app-1", at(2, 2)],
      ]),
    });
    expect(s.pods[0]!.cpuUsageSeconds).toBe(3);
    expect(s.pods[0]!.containers).toEqual([expect.objectContaining({ name: "app", cpuUsageSeconds: 2 })]);
  });

  it("fails the scrape when the node's own container has no reading: the cgroup root is not the host's", () => {
    expect(buildResourceSnapshot({ containers: [app], usage: new Map([["app-p", at(1, 1)]]), nodeContainerId: "node" })).toEqual({
      pods: [],
      scrapeError: true,
    });
  });

  it("makes the node its pods alone outside a node container, and leaves it out while there are none", () => {
    expect(buildResourceSnapshot({ containers: [app], usage: new Map([["app-p", at(1, 2)]]) }).node).toEqual(at(1, 2));
    expect(buildResourceSnapshot({ containers: [], usage: new Map() })).toEqual({ pods: [], scrapeError: false });
  });

  it("gives a container with no start time a start time of 0, which the text leaves out", () => {
    const s = buildResourceSnapshot({ containers: [rc({ id: "a", startedAt: "" })], usage: new Map([["a", at(1, 1)]]) });
    expect(s.pods[0]!.containers[0]!.startTimeSeconds).toBe(0);
  });
});
