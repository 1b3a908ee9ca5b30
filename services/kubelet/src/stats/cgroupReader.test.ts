import { cp, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CgroupReader, cgroupCandidates, flatKeyedValue, layoutOf, workingSetBytes } from "./cgroupReader.js";

// testdata/cgroup-v1: cgroupfs driver, cpu and cpuacct mounted apart (as on a Docker host with
// Cgroup Version 1); testdata/cgroup-v2: one container under each driver.
const testdata = path.join(import.meta.dirname, "testdata");
const id = (c: string) => c.repeat(64);
const [A, B, C, D] = ["a", "b", "c", "d"].map(id) as [string, string, string, string];
const NOW_MS = 1_700_000_000_000;

describe("cgroup helpers", () => {
  it("look for a container under both of Docker's cgroup drivers, cgroupfs first", () => {
    expect(cgroupCandidates("abc")).toEqual(["docker/abc", "system.slice/docker-abc.scope"]);
  });

  it("tell v2 by its cgroup.controllers, and find v1's cpuacct alone or mounted with cpu", () => {
    expect(layoutOf("/r", ["cgroup.controllers", "cpu.stat"])).toEqual({ version: 2, dir: "/r" });
    expect(layoutOf("/r", ["cpu", "cpuacct", "memory", "unified"])).toEqual({
      version: 1,
      cpuacctDir: "/r/cpuacct",
      memoryDir: "/r/memory",
    });
    expect(layoutOf("/r", ["cpu,cpuacct", "memory"])).toEqual({ version: 1, cpuacctDir: "/r/cpu,cpuacct", memoryDir: "/r/memory" });
    expect(layoutOf("/r", ["cpuacct,cpu", "memory"])).toMatchObject({ cpuacctDir: "/r/cpuacct,cpu" });
    expect(layoutOf("/r", ["cpu", "memory"])).toBeUndefined();
    expect(layoutOf("/r", ["cpuacct"])).toBeUndefined();
  });

  it("read one key of a flat-keyed file, and not a key it only prefixes", () => {
    const stat = "total_inactive_file 7\ninactive_file 5\ninactive_file_x 9\n";
    expect(flatKeyedValue(stat, "inactive_file")).toBe(5);
    expect(flatKeyedValue(stat, "total_inactive_file")).toBe(7);
    expect(flatKeyedValue(stat, "active_file")).toBeUndefined();
  });

  it("floor the working set at zero when the inactive cache outgrows the usage read before it", () => {
    expect(workingSetBytes(100, 30)).toBe(70);
    expect(workingSetBytes(100, 130)).toBe(0);
  });
});

describe("CgroupReader", () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "cgroup-reader-"));
  });
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  /** A copy of a fixture tree, for tests that change it. */
  const copyOf = async (fixture: string) => {
    const root = path.join(tmp, fixture);
    await cp(path.join(testdata, fixture), root, { recursive: true });
    return root;
  };

  it("reads v1: cpuacct.usage in ns, usage_in_bytes less the subtree's total_inactive_file", async () => {
    const usage = await new CgroupReader(path.join(testdata, "cgroup-v1"), () => NOW_MS).read([A, B]);
    expect(usage.get(A)).toEqual({ cpuUsageSeconds: 31.448015, memoryWorkingSetBytes: 10_485_760 - 2_097_152, timestampMs: NOW_MS });
    expect(usage.get(B)).toEqual({ cpuUsageSeconds: 0.5, memoryWorkingSetBytes: 0, timestampMs: NOW_MS });
  });

  it("reads v2 under either driver: cpu.stat's usage_usec, memory.current less inactive_file", async () => {
    const usage = await new CgroupReader(path.join(testdata, "cgroup-v2"), () => NOW_MS).read([C, D]);
    expect(usage.get(C)).toEqual({ cpuUsageSeconds: 2.5, memoryWorkingSetBytes: 20_971_520 - 4_194_304, timestampMs: NOW_MS });
    expect(usage.get(D)).toEqual({ cpuUsageSeconds: 0.001, memoryWorkingSetBytes: 1_048_576, timestampMs: NOW_MS });
  });

  it("reads v1 with cpu and cpuacct mounted together", async () => {
    const root = await copyOf("cgroup-v1");
    await rm(path.join(root, "cpu"), { recursive: true });
    await rename(path.join(root, "cpuacct"), path.join(root, "cpu,cpuacct"));
    const usage = await new CgroupReader(root).read([A]);
    expect(usage.get(A)?.cpuUsageSeconds).toBe(31.448015);
  });

  it("reads v1 under the systemd driver", async () => {
    const root = await copyOf("cgroup-v1");
    for (const controller of ["cpuacct", "memory"]) {
      await mkdir(path.join(root, controller, "system.slice"));
      await rename(path.join(root, controller, "docker", A), path.join(root, controller, "system.slice", `docker-${A}.scope`));
    }
    expect((await new CgroupReader(root).read([A])).get(A)?.cpuUsageSeconds).toBe(31.448015);
  });

  it("skips a container whose cgroup is gone, found or not before, and forgets it", async () => {
    const root = await copyOf("cgroup-v1");
    const reader = new CgroupReader(root);
    expect([...(await reader.read([A, B, id("e")])).keys()].sort()).toEqual([A, B]);
    expect(reader.cachedContainerCount).toBe(2);
    await rm(path.join(root, "memory", "docker", B), { recursive: true });
    expect([...(await reader.read([A, B])).keys()]).toEqual([A]);
    expect(reader.cachedContainerCount).toBe(1);
  });

  it("forgets containers no longer asked for", async () => {
    const reader = new CgroupReader(path.join(testdata, "cgroup-v1"));
    await reader.read([A, B]);
    expect(reader.cachedContainerCount).toBe(2);
    await reader.read([B]);
    expect(reader.cachedContainerCount).toBe(1);
  });

  it("reads each file anew on every call", async () => {
    const root = await copyOf("cgroup-v2");
    const reader = new CgroupReader(root);
    expect((await reader.read([D])).get(D)?.cpuUsageSeconds).toBe(0.001);
    await writeFile(path.join(root, "docker", D, "cpu.stat"), "usage_usec 3000000\n");
    expect((await reader.read([D])).get(D)?.cpuUsageSeconds).toBe(3);
  });

  it("reads a file longer than its read buffer whole", async () => {
    const root = await copyOf("cgroup-v1");
    const padding = Array.from({ length: 2000 }, (_, i) => `padding_${i} 0`).join("\n");
    await writeFile(path.join(root, "memory", "docker", A, "memory.stat"), `${padding}\ntotal_inactive_file 1048576\n`);
    expect((await new CgroupReader(root).read([A])).get(A)?.memoryWorkingSetBytes).toBe(10_485_760 - 1_048_576);
  });

  it("rejects when the root is missing or holds no cgroup hierarchy it knows", async () => {
    await expect(new CgroupReader(path.join(tmp, "absent")).read([A])).rejects.toThrow(/ENOENT/);
    await expect(new CgroupReader(tmp).read([A])).rejects.toThrow(/neither a cgroup v2 hierarchy nor v1's/);
  });

  it("reads a hundred containers", async () => {
    const root = path.join(tmp, "many");
    await mkdir(root);
    await writeFile(path.join(root, "cgroup.controllers"), "cpu memory\n");
    const ids = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(64, "0"));
    for (const [i, c] of ids.entries()) {
      const dir = path.join(root, "docker", c);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, "cpu.stat"), `usage_usec ${i * 1_000_000}\n`);
      await writeFile(path.join(dir, "memory.current"), `${i * 1024}\n`);
      await writeFile(path.join(dir, "memory.stat"), "inactive_file 0\n");
    }
    const usage = await new CgroupReader(root).read(ids);
    expect(usage.size).toBe(100);
    expect(usage.get(ids[42]!)).toMatchObject({ cpuUsageSeconds: 42, memoryWorkingSetBytes: 42 * 1024 });
  });
});
