// The commands that cut or degrade one component's network, run by the netutil helper inside
// that component's network namespace: iptables chains of our own (so healing removes exactly what
// was added) and a tc netem qdisc. Pure: argv lists, tested beside.
import type { NetemSettings } from "./schedule.js";

export const CHAIN_IN = "KUBELAB-CHAOS-IN";
export const CHAIN_OUT = "KUBELAB-CHAOS-OUT";

/** One command; `mayFail` when failing means "already so" (a chain that exists, a rule not there). */
export interface NetCommand {
  argv: string[];
  mayFail?: boolean;
}

const iptables = (...args: string[]): string[] => ["iptables", "-w", "5", ...args];

/** Our two chains, hooked first into INPUT and OUTPUT (once, however often this runs). */
export function chainCommands(): NetCommand[] {
  return [
    { argv: iptables("-N", CHAIN_IN), mayFail: true },
    { argv: iptables("-N", CHAIN_OUT), mayFail: true },
    { argv: iptables("-D", "INPUT", "-j", CHAIN_IN), mayFail: true },
    { argv: iptables("-D", "OUTPUT", "-j", CHAIN_OUT), mayFail: true },
    { argv: iptables("-I", "INPUT", "1", "-j", CHAIN_IN) },
    { argv: iptables("-I", "OUTPUT", "1", "-j", CHAIN_OUT) },
  ];
}

/**
 * A partition: from every network (all but loopback, so the component still talks to itself and
 * to Docker's resolver), or from the given peer addresses only. Packets are dropped, not
 * refused, as a cut cable or a dead switch drops them: peers learn of it by their timeouts.
 */
export function partitionCommands(peerAddresses: string[] = []): NetCommand[] {
  const rules: NetCommand[] = [];
  if (peerAddresses.length === 0) {
    rules.push({ argv: iptables("-A", CHAIN_IN, "-i", "lo", "-j", "RETURN") });
    rules.push({ argv: iptables("-A", CHAIN_IN, "-j", "DROP") });
    rules.push({ argv: iptables("-A", CHAIN_OUT, "-o", "lo", "-j", "RETURN") });
    rules.push({ argv: iptables("-A", CHAIN_OUT, "-j", "DROP") });
  } else {
    for (const ip of peerAddresses) {
      rules.push({ argv: iptables("-A", CHAIN_IN, "-s", ip, "-j", "DROP") });
      rules.push({ argv: iptables("-A", CHAIN_OUT, "-d", ip, "-j", "DROP") });
    }
  }
  return [...chainCommands(), ...rules];
}

/**
 * Packet loss on what the component sends (as netem's loss acts on egress), with iptables'
 * statistic match, which every kernel with iptables has: netem is a module some kernels lack.
 */
export function lossCommands(lossPercent: number): NetCommand[] {
  const probability = (lossPercent / 100).toFixed(6);
  return [
    ...chainCommands(),
    { argv: iptables("-A", CHAIN_OUT, "!", "-o", "lo", "-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP") },
  ];
}

/** netem's delay (and jitter) on every interface but loopback: what the component sends waits. */
export function delayCommands(interfaces: string[], settings: NetemSettings): NetCommand[] {
  if (settings.delayMs <= 0) return [];
  const delay = ["delay", `${settings.delayMs}ms`, ...(settings.jitterMs > 0 ? [`${settings.jitterMs}ms`] : [])];
  return interfaces.filter((i) => i !== "lo").map((dev) => ({ argv: ["tc", "qdisc", "replace", "dev", dev, "root", "netem", ...delay] }));
}

/** Undoes all of the above: our chains unhooked and removed, the root qdiscs back to the default. */
export function healCommands(interfaces: string[]): NetCommand[] {
  return [
    { argv: iptables("-D", "INPUT", "-j", CHAIN_IN), mayFail: true },
    { argv: iptables("-D", "OUTPUT", "-j", CHAIN_OUT), mayFail: true },
    { argv: iptables("-F", CHAIN_IN), mayFail: true },
    { argv: iptables("-F", CHAIN_OUT), mayFail: true },
    { argv: iptables("-X", CHAIN_IN), mayFail: true },
    { argv: iptables("-X", CHAIN_OUT), mayFail: true },
    ...interfaces.filter((i) => i !== "lo").map((dev) => ({ argv: ["tc", "qdisc", "del", "dev", dev, "root"], mayFail: true })),
  ];
}

/** Interface names from /proc/net/dev (what the helper reads: it is the namespace's own). */
export function interfacesOf(procNetDev: string): string[] {
  return procNetDev
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]!.trim())
    .filter((name) => name !== "" && !name.includes(" "))
    .map((name) => name.replace(/@.*$/, ""));
}

/** tc's answer when the kernel has no netem qdisc. */
export function isNetemMissing(stderr: string): boolean {
  return /Specified qdisc kind is unknown|qdisc 'netem' not found|No such file or directory.*netem/i.test(stderr);
}
