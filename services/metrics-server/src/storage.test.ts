import { describe, expect, it } from "vitest";
import { MetricsStorage, type NodeScrape } from "./storage.js";

const node = (cpuUsageSeconds: number, timestampMs: number) => ({ cpuUsageSeconds, memoryWorkingSetBytes: 100 * 2 ** 20, timestampMs });
const container = (
  name: string,
  cpuUsageSeconds: number,
  timestampMs: number,
  startTimeSeconds = 1000,
  memoryWorkingSetBytes = 2 ** 20,
) => ({
  name,
  cpuUsageSeconds,
  memoryWorkingSetBytes,
  timestampMs,
  startTimeSeconds,
});
const scrape = (t: number, nodeCpu: number, pods: NodeScrape["pods"]): NodeScrape => ({ node: node(nodeCpu, t), pods });

describe("MetricsStorage", () => {
  it("has no usage after one scrape, and the rate between the last two after the second", () => {
    const s = new MetricsStorage();
    s.store("node-1", scrape(10_000, 5, [{ namespace: "default", name: "web", containers: [container("app", 1, 10_000)] }]));
    expect(s.nodeUsage("node-1")).toBeUndefined();
    expect(s.podUsage("default", "web")).toBeUndefined();
    s.store("node-1", scrape(15_000, 7.5, [{ namespace: "default", name: "web", containers: [container("app", 3.5, 15_000)] }]));
    expect(s.nodeUsage("node-1")).toEqual({ cpuCores: 0.5, memoryBytes: 100 * 2 ** 20, timestampMs: 15_000, windowMs: 5000 });
    expect(s.podUsage("default", "web")).toEqual({
      namespace: "default",
      name: "web",
      timestampMs: 15_000,
      windowMs: 5000,
      containers: [{ name: "app", cpuCores: 0.5, memoryBytes: 2 ** 20 }],
    });
  });

  it("keeps only the last two readings: the window moves with each scrape", () => {
    const s = new MetricsStorage();
    for (const [t, cpu] of [
      [0, 0],
      [5000, 5],
      [10_000, 5.5],
    ] as const)
      s.store("n", scrape(t, cpu, []));
    expect(s.nodeUsage("n")?.cpuCores).toBeCloseTo(0.1);
  });

  it("reports a pod only when every one of its containers has a usage", () => {
    const s = new MetricsStorage();
    s.store("n", scrape(0, 0, [{ namespace: "d", name: "p", containers: [container("a", 0, 0)] }]));
    s.store("n", scrape(5000, 0, [{ namespace: "d", name: "p", containers: [container("a", 1, 5000), container("b", 1, 5000)] }]));
    expect(s.podUsage("d", "p")).toBeUndefined();
  });

  it("counts a restarted container from its start, where its counter was 0", () => {
    const s = new MetricsStorage();
    s.store("n", scrape(0, 0, [{ namespace: "d", name: "p", containers: [container("a", 50, 0, 1)] }]));
    // Restarted at t=8 s; by t=10 s it used 1 s of CPU.
    s.store("n", scrape(10_000, 0, [{ namespace: "d", name: "p", containers: [container("a", 1, 10_000, 8)] }]));
    expect(s.podUsage("d", "p")?.containers[0]?.cpuCores).toBeCloseTo(0.5);
    expect(s.podUsage("d", "p")?.windowMs).toBe(2000);
  });

  it("gives no rate when a counter went backwards", () => {
    const s = new MetricsStorage();
    s.store("n", scrape(0, 10, []));
    s.store("n", scrape(5000, 2, []));
    expect(s.nodeUsage("n")).toBeUndefined();
  });

  it("drops pods a node's scrape no longer shows, and a forgotten node's pods", () => {
    const s = new MetricsStorage();
    s.store("n", scrape(0, 0, [{ namespace: "d", name: "gone", containers: [container("a", 0, 0)] }]));
    s.store("m", scrape(0, 0, [{ namespace: "d", name: "kept", containers: [container("a", 0, 0)] }]));
    s.store("n", scrape(5000, 0, []));
    expect(s.podKeys()).toEqual([{ namespace: "d", name: "kept" }]);
    s.forgetNode("m");
    expect(s.podKeys()).toEqual([]);
    expect(s.nodeNames()).toEqual(["n"]);
  });

  it("starts a pod's readings afresh when it shows up on another node", () => {
    const s = new MetricsStorage();
    s.store("n", scrape(0, 0, [{ namespace: "d", name: "p", containers: [container("a", 0, 0)] }]));
    s.store("m", scrape(5000, 0, [{ namespace: "d", name: "p", containers: [container("a", 9, 5000)] }]));
    expect(s.podUsage("d", "p")).toBeUndefined();
  });
});
