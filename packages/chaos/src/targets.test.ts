import { describe, expect, it } from "vitest";
import { ChaosError } from "./errors.js";
import { chooseSeeded, parseTarget, seededRandom, type Target } from "./targets.js";

describe("parseTarget", () => {
  const good: Array<{ text: string; want: Target }> = [
    { text: "etcd-1", want: { kind: "component", name: "etcd-1" } },
    { text: "apiserver-2", want: { kind: "component", name: "apiserver-2" } },
    { text: " node-3 ", want: { kind: "component", name: "node-3" } },
    { text: "kube-proxy-node-1", want: { kind: "component", name: "kube-proxy-node-1" } },
    { text: "leader:etcd", want: { kind: "leader", of: "etcd" } },
    { text: "leader:scheduler", want: { kind: "leader", of: "scheduler" } },
    { text: "leader:controller-manager", want: { kind: "leader", of: "controller-manager" } },
    { text: "random:node", want: { kind: "random", of: "node" } },
    { text: "random:etcd", want: { kind: "random", of: "etcd" } },
    { text: "random:apiserver", want: { kind: "random", of: "apiserver" } },
    { text: "random:kube-proxy", want: { kind: "random", of: "kube-proxy" } },
    { text: "random:scheduler", want: { kind: "random", of: "scheduler" } },
    { text: "random:controller-manager", want: { kind: "random", of: "controller-manager" } },
  ];
  it.each(good)("reads $text", ({ text, want }) => {
    expect(parseTarget(text)).toEqual(want);
  });

  const bad: Array<{ name: string; text: string; want: string }> = [
    {
      name: "a leader of a component that elects none",
      text: "leader:apiserver",
      want: 'target "leader:apiserver": a leader is one of leader:etcd, leader:scheduler, leader:controller-manager, leader:cloud-controller-manager',
    },
    { name: "a leader of nothing", text: "leader:", want: 'target "leader:": a leader is one of' },
    { name: "a leader with a trailing part", text: "leader:etcd:1", want: 'target "leader:etcd:1": a leader is one of' },
    {
      name: "a random pick of an unknown kind",
      text: "random:dns",
      want: 'target "random:dns": random: takes one of node, etcd, apiserver, kube-proxy, scheduler, controller-manager',
    },
    {
      name: "a random pick of a component rather than a kind",
      text: "random:node-1",
      want: 'target "random:node-1": random: takes one of',
    },
    { name: "an unknown role", text: "boss:etcd", want: 'target "boss:etcd": unknown role "boss" (leader:..., random:...)' },
    {
      name: "an upper-case name",
      text: "Node-2",
      want: 'target "Node-2": a component\'s short name, such as etcd-1, apiserver-2 or node-3',
    },
    { name: "an underscore", text: "etcd_1", want: 'target "etcd_1": a component\'s short name' },
    { name: "a leading hyphen", text: "-node", want: 'target "-node": a component\'s short name' },
    { name: "a space inside", text: "node 2", want: 'target "node 2": a component\'s short name' },
    { name: "nothing", text: "   ", want: 'target "": a component\'s short name' },
  ];
  it.each(bad)("rejects $name", ({ text, want }) => {
    expect(() => parseTarget(text)).toThrow(ChaosError);
    expect(() => parseTarget(text)).toThrow(want);
  });
});

describe("seededRandom", () => {
  const take = (seed: number, n: number) => {
    const r = seededRandom(seed);
    return Array.from({ length: n }, () => r());
  };

  it("gives the same sequence for the same seed", () => {
    expect(take(42, 100)).toEqual(take(42, 100));
  });

  it("gives another sequence for another seed", () => {
    expect(take(43, 10)).not.toEqual(take(42, 10));
    expect(take(1, 10)).not.toEqual(take(0, 10));
  });

  it("keeps seed 42's first draws, so a report's seed replays the same choices in later versions", () => {
    expect(take(42, 3).map((d) => d.toFixed(10))).toEqual(["0.6011037519", "0.4482905590", "0.8524657935"]);
  });

  it.each([0, 1, 42, 2 ** 31, 2 ** 32 - 1])("stays within [0, 1) and spreads over it for seed %i", (seed) => {
    const draws = take(seed, 10_000);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    // Every tenth of the range gets some draws: not stuck, not constant.
    for (let tenth = 0; tenth < 10; tenth++) expect(draws.filter((d) => Math.floor(d * 10) === tenth).length).toBeGreaterThan(800);
  });
});

describe("chooseSeeded", () => {
  const nodes = ["node-1", "node-2", "node-3", "node-4"];

  it("picks the same component whatever order the candidates come in", () => {
    const orders = [nodes, [...nodes].reverse(), ["node-3", "node-1", "node-4", "node-2"]];
    for (const draw of [0, 0.24, 0.25, 0.5, 0.74, 0.99]) {
      const picks = orders.map((o) => chooseSeeded(o, () => draw));
      expect(new Set(picks).size).toBe(1);
    }
  });

  it("picks by the draw's place among the sorted candidates", () => {
    const shuffled = ["node-3", "node-1", "node-4", "node-2"];
    expect(chooseSeeded(shuffled, () => 0)).toBe("node-1");
    expect(chooseSeeded(shuffled, () => 0.25)).toBe("node-2");
    expect(chooseSeeded(shuffled, () => 0.6)).toBe("node-3");
    expect(chooseSeeded(shuffled, () => 0.999999)).toBe("node-4");
  });

  it("leaves the candidates as they were", () => {
    const shuffled = ["node-3", "node-1"];
    chooseSeeded(shuffled, () => 0);
    expect(shuffled).toEqual(["node-3", "node-1"]);
  });

  it("refuses to choose from nothing", () => {
    expect(() => chooseSeeded([], () => 0.5)).toThrow(new ChaosError("no component to choose from"));
  });
});
