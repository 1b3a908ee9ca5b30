import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Logger, ResourceUsage } from "@kubelab/service-kit";
import type { DockerRuntime, RuntimeContainer } from "../runtime/dockerRuntime.js";
import { rc } from "../testing/runtimeContainers.js";
import { CgroupReader } from "./cgroupReader.js";
import { ResourceStatsCollector } from "./resourceStatsCollector.js";

const NODE = "a".repeat(64);

function fakes(containers: RuntimeContainer[], nodeContainer: string | undefined = NODE) {
  const lines: string[] = [];
  const log = {
    warn: (m: string) => lines.push(`W ${m}`),
    info: (m: string) => lines.push(`I ${m}`),
  } as unknown as Logger;
  const runtime = { list: async () => containers, identity: { nodeContainer } } as unknown as DockerRuntime;
  return { lines, log, runtime };
}

const reading = (cpuUsageSeconds: number): ResourceUsage => ({ cpuUsageSeconds, memoryWorkingSetBytes: 1, timestampMs: 1 });

describe("ResourceStatsCollector", () => {
  it("reads the node container and the running containers of its pods", async () => {
    const { log, runtime } = fakes([rc({ id: "s", type: "sandbox", name: "POD" }), rc({ id: "x" }), rc({ id: "y", state: "exited" })]);
    const asked: string[][] = [];
    const reader = {
      root: "/host",
      read: async (ids: readonly string[]) => {
        asked.push([...ids]);
        return new Map(ids.map((id, i) => [id, reading(i + 1)]));
      },
    };
    const snapshot = await new ResourceStatsCollector(runtime, reader, log).snapshot();
    expect(asked).toEqual([[NODE, "s", "x"]]);
    expect(snapshot.node?.cpuUsageSeconds).toBe(1 + 2 + 3);
    expect(snapshot.pods[0]?.containers.map((c) => c.name)).toEqual(["app"]);
  });

  it("answers scrape_error 1 while the cgroup root is unreadable, warning when scrapes start failing", async () => {
    const { lines, log, runtime } = fakes([rc({})]);
    const collector = new ResourceStatsCollector(runtime, new CgroupReader("/nonexistent/cgroup"), log);
    expect(await collector.render()).toContain("\nscrape_error 1\n");
    expect(await collector.render()).toContain("\nscrape_error 1\n");
    expect(lines).toEqual(["W reading resource stats failed: /metrics/resource answers scrape_error 1 until it succeeds"]);
  });

  it("fails while the node container has no cgroup under the root, and says so again once it recovers", async () => {
    const { lines, log, runtime } = fakes([]);
    let found = false;
    const reader = { root: "/sys/fs/cgroup", read: async () => new Map(found ? [[NODE, reading(1)]] : []) };
    const collector = new ResourceStatsCollector(runtime, reader, log);
    expect((await collector.snapshot()).scrapeError).toBe(true);
    found = true;
    expect((await collector.snapshot()).scrapeError).toBe(false);
    expect(lines).toEqual([
      "W reading resource stats failed: /metrics/resource answers scrape_error 1 until it succeeds",
      "I resource metrics available again",
    ]);
  });

  it("reads a fixture cgroup tree end to end", async () => {
    const b = "b".repeat(64);
    const { log, runtime } = fakes([rc({ id: b })]);
    const reader = new CgroupReader(path.join(import.meta.dirname, "testdata", "cgroup-v1"));
    const text = await new ResourceStatsCollector(runtime, reader, log).render();
    expect(text).toContain('container_cpu_usage_seconds_total{container="app",namespace="default",pod="p"} 0.5 ');
    expect(text).toMatch(/\nnode_cpu_usage_seconds_total 31.948015 \d+\n/);
    expect(text).toContain("\nscrape_error 0\n");
  });
});
