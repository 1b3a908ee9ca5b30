import { describe, expect, it } from "vitest";
import {
  CHAIN_IN,
  CHAIN_OUT,
  chainCommands,
  delayCommands,
  healCommands,
  interfacesOf,
  isNetemMissing,
  lossCommands,
  type NetCommand,
  partitionCommands,
} from "./netRules.js";

const ipt = (...args: string[]) => ["iptables", "-w", "5", ...args];
/** The commands after the chain setup: the rules themselves. */
const rulesOf = (commands: NetCommand[]) => commands.slice(chainCommands().length);

describe("chainCommands", () => {
  it("creates both chains, unhooks an earlier hook, then hooks them first into INPUT and OUTPUT", () => {
    expect(chainCommands()).toEqual([
      { argv: ipt("-N", CHAIN_IN), mayFail: true },
      { argv: ipt("-N", CHAIN_OUT), mayFail: true },
      { argv: ipt("-D", "INPUT", "-j", CHAIN_IN), mayFail: true },
      { argv: ipt("-D", "OUTPUT", "-j", CHAIN_OUT), mayFail: true },
      { argv: ipt("-I", "INPUT", "1", "-j", CHAIN_IN) },
      { argv: ipt("-I", "OUTPUT", "1", "-j", CHAIN_OUT) },
    ]);
  });

  it("may fail only where failing means already so; the hooks themselves must succeed", () => {
    for (const c of chainCommands()) expect(c.mayFail === true).toBe(c.argv.includes("-N") || c.argv.includes("-D"));
  });
});

describe("partitionCommands", () => {
  it("with no peers, lets loopback through and drops everything else, both ways", () => {
    const commands = partitionCommands();
    expect(commands.slice(0, chainCommands().length)).toEqual(chainCommands());
    expect(rulesOf(commands)).toEqual([
      { argv: ipt("-A", CHAIN_IN, "-i", "lo", "-j", "RETURN") },
      { argv: ipt("-A", CHAIN_IN, "-j", "DROP") },
      { argv: ipt("-A", CHAIN_OUT, "-o", "lo", "-j", "RETURN") },
      { argv: ipt("-A", CHAIN_OUT, "-j", "DROP") },
    ]);
  });

  it("with no peers, puts each chain's loopback RETURN before its DROP", () => {
    const argvs = partitionCommands([]).map((c) => c.argv.join(" "));
    for (const [chain, dir] of [
      [CHAIN_IN, "-i"],
      [CHAIN_OUT, "-o"],
    ] as const) {
      const ret = argvs.indexOf(ipt("-A", chain, dir, "lo", "-j", "RETURN").join(" "));
      const drop = argvs.indexOf(ipt("-A", chain, "-j", "DROP").join(" "));
      expect(ret).toBeGreaterThanOrEqual(0);
      expect(drop).toBeGreaterThan(ret);
    }
  });

  it("with peers, drops what comes from each peer and what goes to it, and nothing else", () => {
    expect(rulesOf(partitionCommands(["172.20.0.2", "172.20.0.3"]))).toEqual([
      { argv: ipt("-A", CHAIN_IN, "-s", "172.20.0.2", "-j", "DROP") },
      { argv: ipt("-A", CHAIN_OUT, "-d", "172.20.0.2", "-j", "DROP") },
      { argv: ipt("-A", CHAIN_IN, "-s", "172.20.0.3", "-j", "DROP") },
      { argv: ipt("-A", CHAIN_OUT, "-d", "172.20.0.3", "-j", "DROP") },
    ]);
  });

  it("never lets a rule fail silently", () => {
    for (const c of rulesOf(partitionCommands())) expect(c.mayFail).toBeUndefined();
    for (const c of rulesOf(partitionCommands(["10.0.0.1"]))) expect(c.mayFail).toBeUndefined();
  });
});

describe("lossCommands", () => {
  const cases: Array<{ percent: number; probability: string }> = [
    { percent: 10, probability: "0.100000" },
    { percent: 0.5, probability: "0.005000" },
    { percent: 100, probability: "1.000000" },
    { percent: 33.3333333, probability: "0.333333" },
  ];
  it.each(cases)(
    "drops $percent% of what leaves by any interface but loopback, as probability $probability",
    ({ percent, probability }) => {
      const commands = lossCommands(percent);
      expect(commands.slice(0, chainCommands().length)).toEqual(chainCommands());
      expect(rulesOf(commands)).toEqual([
        { argv: ipt("-A", CHAIN_OUT, "!", "-o", "lo", "-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP") },
      ]);
    },
  );
});

describe("delayCommands", () => {
  it("delays every interface but loopback, with the jitter", () => {
    expect(delayCommands(["lo", "eth0", "eth1"], { delayMs: 100, jitterMs: 20, lossPercent: 0 })).toEqual([
      { argv: ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "100ms", "20ms"] },
      { argv: ["tc", "qdisc", "replace", "dev", "eth1", "root", "netem", "delay", "100ms", "20ms"] },
    ]);
  });

  it("leaves the jitter out when it is 0", () => {
    expect(delayCommands(["eth0"], { delayMs: 250, jitterMs: 0, lossPercent: 0 })).toEqual([
      { argv: ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "250ms"] },
    ]);
  });

  it("does nothing without a delay (a loss alone is iptables' job)", () => {
    expect(delayCommands(["eth0"], { delayMs: 0, jitterMs: 0, lossPercent: 10 })).toEqual([]);
  });

  it("does nothing on loopback alone", () => {
    expect(delayCommands(["lo"], { delayMs: 100, jitterMs: 0, lossPercent: 0 })).toEqual([]);
  });
});

describe("healCommands", () => {
  const heal = healCommands(["lo", "eth0", "eth1"]);

  it("unhooks, flushes and removes both chains, and resets every interface but loopback", () => {
    expect(heal).toEqual([
      { argv: ipt("-D", "INPUT", "-j", CHAIN_IN), mayFail: true },
      { argv: ipt("-D", "OUTPUT", "-j", CHAIN_OUT), mayFail: true },
      { argv: ipt("-F", CHAIN_IN), mayFail: true },
      { argv: ipt("-F", CHAIN_OUT), mayFail: true },
      { argv: ipt("-X", CHAIN_IN), mayFail: true },
      { argv: ipt("-X", CHAIN_OUT), mayFail: true },
      { argv: ["tc", "qdisc", "del", "dev", "eth0", "root"], mayFail: true },
      { argv: ["tc", "qdisc", "del", "dev", "eth1", "root"], mayFail: true },
    ]);
  });

  it("may fail at every command, so healing what was never broken succeeds", () => {
    for (const c of heal) expect(c.mayFail).toBe(true);
  });

  it("unhooks a chain before removing it (iptables refuses to remove a chain still referenced)", () => {
    const at = (argv: string[]) => heal.findIndex((c) => c.argv.join(" ") === argv.join(" "));
    expect(at(ipt("-D", "INPUT", "-j", CHAIN_IN))).toBeLessThan(at(ipt("-X", CHAIN_IN)));
    expect(at(ipt("-D", "OUTPUT", "-j", CHAIN_OUT))).toBeLessThan(at(ipt("-X", CHAIN_OUT)));
    expect(at(ipt("-F", CHAIN_IN))).toBeLessThan(at(ipt("-X", CHAIN_IN)));
    expect(at(ipt("-F", CHAIN_OUT))).toBeLessThan(at(ipt("-X", CHAIN_OUT)));
  });

  it("undoes every chain and hook the faults add", () => {
    const added = [...partitionCommands(), ...lossCommands(5)].map((c) => c.argv);
    const chains = new Set(added.filter((a) => a[3] === "-N").map((a) => a[4]));
    for (const chain of chains) expect(heal.some((c) => c.argv[3] === "-X" && c.argv[4] === chain)).toBe(true);
    const hooks = added.filter((a) => a[3] === "-I").map((a) => [a[4], a.at(-1)]);
    for (const [hook, chain] of hooks) expect(heal.some((c) => c.argv.join(" ") === ipt("-D", hook!, "-j", chain!).join(" "))).toBe(true);
  });
});

describe("interfacesOf", () => {
  const procNetDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   43210     512    0    0    0     0          0         0    43210     512    0    0    0     0       0          0
  eth0: 1398765667   57511    0    0    0     0          0         0  4234838   40348    0    0    0     0       0          0
  eth1:12345678   1000    0    0    0     0          0         0  2345678    900    0    0    0     0       0          0
`;

  it("reads the interfaces' names, skipping the two header lines and the trailing newline, even a name its counters follow without a space", () => {
    expect(interfacesOf(procNetDev)).toEqual(["lo", "eth0", "eth1"]);
  });

  it("reads a name longer than the column", () => {
    const text = `${procNetDev}br-c3d3a6fd9860:       0       0    0    0    0     0          0         0        0       0    0    2    0     0       0          0\n`;
    expect(interfacesOf(text)).toEqual(["lo", "eth0", "eth1", "br-c3d3a6fd9860"]);
  });

  it("finds nothing in the headers alone", () => {
    expect(interfacesOf(procNetDev.split("\n").slice(0, 2).join("\n"))).toEqual([]);
  });
});

describe("isNetemMissing", () => {
  it.each([
    "Error: Specified qdisc kind is unknown.",
    "RTNETLINK answers: No such file or directory\nError: Specified qdisc kind is unknown.\n",
    "Error: qdisc 'netem' not found",
  ])("recognises %j as a kernel without netem", (stderr) => {
    expect(isNetemMissing(stderr)).toBe(true);
  });

  it.each(['Error: Cannot find device "eth9".', "RTNETLINK answers: Operation not permitted", ""])(
    "does not take %j for a missing netem",
    (stderr) => {
      expect(isNetemMissing(stderr)).toBe(false);
    },
  );
});
