import { access, open, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ResourceUsage } from "@kubelab/service-kit";

/** Where a cgroup hierarchy keeps the files read here, found once per reader. */
export type CgroupLayout =
  /** cgroup v1: one hierarchy per controller; cpuacct may be its own mount or share one with cpu. */
  | { version: 1; cpuacctDir: string; memoryDir: string }
  /** cgroup v2: one unified hierarchy. */
  | { version: 2; dir: string };

/** Names the cpuacct controller's hierarchy goes by: alone, or mounted together with cpu (either order). */
const V1_CPUACCT_DIRS = ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"];

/**
 * A container's cgroup under each hierarchy, for both of Docker's cgroup drivers: cgroupfs
 * (docker/<id>) and systemd (a scope under system.slice). cgroupfs comes first as the lab's
 * Docker engines use it.
 */
export function cgroupCandidates(containerId: string): string[] {
  return [`docker/${containerId}`, `system.slice/docker-${containerId}.scope`];
}

/** Which hierarchy `entries` (the names under the cgroup root) show; undefined when neither. */
export function layoutOf(root: string, entries: readonly string[]): CgroupLayout | undefined {
  if (entries.includes("cgroup.controllers")) return { version: 2, dir: root };
  const cpuacct = V1_CPUACCT_DIRS.find((d) => entries.includes(d));
  if (!cpuacct || !entries.includes("memory")) return undefined;
  return { version: 1, cpuacctDir: path.join(root, cpuacct), memoryDir: path.join(root, "memory") };
}

/** A value of a flat-keyed cgroup file (memory.stat, cpu.stat: "key value" lines); undefined when absent. */
export function flatKeyedValue(text: string, key: string): number | undefined {
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0 && line.slice(0, space) === key) return Number(line.slice(space + 1));
  }
  return undefined;
}

/**
 * The working set, as cAdvisor computes it and Kubernetes reports it: usage less the inactive
 * file cache (which the kernel reclaims before anything else), floored at zero since the two
 * files are not read atomically.
 */
export function workingSetBytes(usageBytes: number, inactiveFileBytes: number): number {
  return Math.max(0, usageBytes - inactiveFileBytes);
}

/** The file a cgroup was found by: its CPU counter. */
function cpuFile(layout: CgroupLayout, rel: string): string {
  return layout.version === 1 ? path.join(layout.cpuacctDir, rel, "cpuacct.usage") : path.join(layout.dir, rel, "cpu.stat");
}

/** CPU seconds from the CPU counter's text: v1 counts nanoseconds, v2's cpu.stat microseconds. */
function cpuUsageSeconds(layout: CgroupLayout, text: string): number {
  if (layout.version === 1) return Number(text.trim()) / 1e9;
  return (flatKeyedValue(text, "usage_usec") ?? 0) / 1e6;
}

/** Room for any file read here; v2's memory.stat, the largest, is a few KiB. */
const CGROUP_FILE_BUFFER_BYTES = 16 * 1024;

/**
 * A cgroup file's text in one open, one read and one close. readFile would stat the file and
 * read again to find its end, each a trip through libuv's thread pool, which the kubelet's other
 * file and DNS work shares, for a few hundred files per scrape. A cgroup file is a seq_file: one
 * read fills the buffer as far as the file goes, so a short read is its end; a file that fills
 * the buffer is read again whole.
 */
async function readCgroupFile(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(CGROUP_FILE_BUFFER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead < buf.length) return buf.toString("utf8", 0, bytesRead);
  } finally {
    await handle.close();
  }
  return readFile(file, "utf8");
}

/** A read that failed because the cgroup is gone (its container exited and Docker removed it). */
const isGone = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENODEV";
};

/**
 * Reads Docker containers' CPU and memory from the host's cgroup filesystem, as cAdvisor does for
 * a real kubelet. The root is where that filesystem is mounted (in the lab, the host's
 * /sys/fs/cgroup bind-mounted read-only into the node container). Each container's directory is
 * looked up once and remembered while the container is asked for; every file is read anew on
 * each call, all containers at once.
 */
export class CgroupReader {
  private layout: CgroupLayout | undefined;
  /** Container id → its cgroup's path relative to each hierarchy. */
  private readonly paths = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Containers whose cgroup path is remembered (those asked for last time and found). */
  get cachedContainerCount(): number {
    return this.paths.size;
  }

  /**
   * The usage of each container in `containerIds` whose cgroup exists; one that just exited is
   * left out of the map. Rejects when the root holds no cgroup hierarchy this reader knows (or
   * cannot be read), and on any read error other than a cgroup's absence. Ids not asked for are
   * forgotten.
   */
  async read(containerIds: readonly string[]): Promise<Map<string, ResourceUsage>> {
    const layout = await this.detectLayout();
    const wanted = new Set(containerIds);
    for (const id of this.paths.keys()) if (!wanted.has(id)) this.paths.delete(id);
    const out = new Map<string, ResourceUsage>();
    await Promise.all(
      [...wanted].map(async (id) => {
        const usage = await this.readContainer(layout, id);
        if (usage) out.set(id, usage);
      }),
    );
    return out;
  }

  private async detectLayout(): Promise<CgroupLayout> {
    if (this.layout) return this.layout;
    const layout = layoutOf(this.root, await readdir(this.root));
    if (!layout) throw new Error(`${this.root} holds neither a cgroup v2 hierarchy nor v1's cpuacct and memory hierarchies`);
    this.layout = layout;
    return layout;
  }

  private async readContainer(layout: CgroupLayout, id: string): Promise<ResourceUsage | undefined> {
    try {
      const rel = this.paths.get(id) ?? (await this.locate(layout, id));
      if (rel === undefined) return undefined;
      const memoryDir = path.join(layout.version === 1 ? layout.memoryDir : layout.dir, rel);
      const [cpu, usage, stat] = await Promise.all([
        readCgroupFile(cpuFile(layout, rel)),
        readCgroupFile(path.join(memoryDir, layout.version === 1 ? "memory.usage_in_bytes" : "memory.current")),
        readCgroupFile(path.join(memoryDir, "memory.stat")),
      ]);
      // v1's memory.stat has the cgroup's own figures and, prefixed total_, its subtree's; cAdvisor takes the subtree's.
      const inactiveFile = flatKeyedValue(stat, layout.version === 1 ? "total_inactive_file" : "inactive_file") ?? 0;
      return {
        cpuUsageSeconds: cpuUsageSeconds(layout, cpu),
        memoryWorkingSetBytes: workingSetBytes(Number(usage.trim()), inactiveFile),
        timestampMs: this.nowMs(),
      };
    } catch (e) {
      if (!isGone(e)) throw e;
      this.paths.delete(id);
      return undefined;
    }
  }

  /** The container's cgroup path among the candidates, remembered; undefined when it has none (it exited). */
  private async locate(layout: CgroupLayout, id: string): Promise<string | undefined> {
    for (const rel of cgroupCandidates(id)) {
      try {
        await access(cpuFile(layout, rel));
      } catch (e) {
        if (isGone(e)) continue;
        throw e;
      }
      this.paths.set(id, rel);
      return rel;
    }
    return undefined;
  }
}
