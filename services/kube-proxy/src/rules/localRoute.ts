import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Makes every address of the ClusterIP range local to this network namespace (Linux "AnyIP": a
 * local route for a whole prefix), so the proxy can listen on any ClusterIP without adding
 * addresses one by one. Pods route the range to their node, whose proxy then owns the traffic.
 * Needs CAP_NET_ADMIN, which only the kube-proxy container has. There is no netlink library
 * for Node worth its weight for one route; `ip` (iproute2 or busybox) does it.
 */
export async function ensureLocalRoute(cidr: string): Promise<void> {
  try {
    await run("ip", ["route", "replace", "local", cidr, "dev", "lo"]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `cannot make the Service range ${cidr} local (ip route replace local ${cidr} dev lo): ${(err.stderr || err.message).trim()}`,
    );
  }
}
