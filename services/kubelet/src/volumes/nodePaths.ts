import { promises as fs } from "node:fs";
import path from "node:path";
import type Docker from "dockerode";

/** A mount of the node's container, as `docker inspect` lists it. */
export interface NodeMount {
  /** Where the host has it (a bind's source, a volume's Mountpoint). */
  source: string;
  /** Where the node sees it. */
  destination: string;
}

/**
 * How the host sees the node's filesystem. The pods' containers are created by the host's Docker
 * daemon, so a bind's source must be a host path, while the kubelet (in the node's container)
 * knows node paths: its mounts, and its root filesystem (the overlay's merged directory).
 * Outside a container the node is the host (no root: paths map to themselves).
 */
export interface NodeFilesystem {
  mounts: NodeMount[];
  /** The host path of the node's root filesystem, when the node is a container. */
  rootOnHost?: string;
}

/** Whether `p` is `dir` or below it. */
const within = (p: string, dir: string) => dir === "/" || p === dir || p.startsWith(`${dir}/`);

/**
 * The host path of a path inside the node: under the mount with the longest destination that
 * holds it (that mount's source, plus the rest), else under the node's root filesystem.
 */
export function hostPathOf(fs: NodeFilesystem, nodePath: string): string {
  const p = path.posix.resolve("/", nodePath);
  let best: NodeMount | undefined;
  for (const m of fs.mounts) {
    if (within(p, m.destination) && (!best || m.destination.length > best.destination.length)) best = m;
  }
  if (best) return path.posix.join(best.source, path.posix.relative(best.destination, p));
  return fs.rootOnHost ? path.posix.join(fs.rootOnHost, p) : p;
}

/** The node's filesystem as the host sees it, from its container's inspection (none: the node is the host). */
export async function inspectNodeFilesystem(docker: Docker, containerId: string | undefined): Promise<NodeFilesystem> {
  if (!containerId) return { mounts: [] };
  const info = await docker.getContainer(containerId).inspect();
  const mounts: NodeMount[] = [];
  for (const m of info.Mounts ?? []) {
    mounts.push({ source: m.Source, destination: m.Destination });
    // Also under its real path (/var/run/docker.sock is /run/docker.sock where /var/run is a
    // link), as hostPaths are resolved to theirs before they are mapped.
    const real = await fs.realpath(m.Destination).catch(() => m.Destination);
    if (real !== m.Destination) mounts.push({ source: m.Source, destination: real });
  }
  return {
    mounts,
    rootOnHost: (info.GraphDriver?.Data as Record<string, string> | undefined)?.MergedDir,
  };
}

/** The filesystem type of the mount holding `dir`, from /proc/self/mounts (longest mount point that holds it). */
export function mountTypeOf(procMounts: string, dir: string): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of procMounts.split("\n")) {
    const [, point, type] = line.split(" ");
    if (!point || !type) continue;
    const p = point.replace(/\\040/g, " ");
    if (within(dir, p) && (!best || p.length > best.point.length)) best = { point: p, type };
  }
  return best?.type;
}

/** Whether `dir` (inside this node) is on a tmpfs. */
export async function isTmpfs(dir: string): Promise<boolean> {
  const mounts = await fs.readFile("/proc/self/mounts", "utf8").catch(() => "");
  return mountTypeOf(mounts, path.posix.resolve(dir)) === "tmpfs";
}
