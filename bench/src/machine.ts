import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

export interface MachineTicks {
  busy: number;
  all: number;
  /** Taken by the hypervisor. */
  steal: number;
}

/** The machine's CPU time, busy and all, in ticks, from /proc/stat. */
export async function machineTicks(): Promise<MachineTicks> {
  const f = (await readFile("/proc/stat", "utf8")).split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: all - f[3]! - f[4]!, all, steal: f[7]! }; // idle and iowait are not busy
}

/** The share of all cores' time that was busy between two readings. */
export const busyShare = (a: MachineTicks, b: MachineTicks) => (b.busy - a.busy) / Math.max(1, b.all - a.all);

/**
 * Resolves once the machine has been quiet for `windowMs` (busy under `maxBusy` of all cores), or
 * after `timeoutMs`. Docker finishes a removal after `docker rm` returns (network sandboxes,
 * mounts, shims: about a third of a core-second for 40 containers here), and that tail would be
 * charged to whatever is measured next.
 */
export async function settle(windowMs = 500, maxBusy = 0.3, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let prev = await machineTicks();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, windowMs));
    const cur = await machineTicks();
    if (busyShare(prev, cur) < maxBusy) return;
    prev = cur;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
