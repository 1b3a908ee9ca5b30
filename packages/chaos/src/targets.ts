// What a chaos action is aimed at: a lab component by its short name ("etcd-1", "apiserver-2",
// "node-2"), or a role resolved when the action runs ("leader:etcd", "leader:scheduler",
// "random:node"). Pure: parsing, and the seeded choice, tested beside them.
import { ChaosError } from "./errors.js";

export type Target = { kind: "component"; name: string } | { kind: "leader"; of: LeaderRole } | { kind: "random"; of: string };

export const LEADER_ROLES = ["etcd", "scheduler", "controller-manager", "cloud-controller-manager"] as const;
export type LeaderRole = (typeof LEADER_ROLES)[number];

/** Component kinds a random: target may name, each the prefix of its components' names. */
export const RANDOM_KINDS = [
  "node",
  "etcd",
  "apiserver",
  "kube-proxy",
  "scheduler",
  "controller-manager",
  "cloud-controller-manager",
] as const;

export function parseTarget(text: string): Target {
  const t = text.trim();
  const [prefix, rest] = t.includes(":") ? [t.slice(0, t.indexOf(":")), t.slice(t.indexOf(":") + 1)] : ["", t];
  if (prefix === "leader") {
    if (!(LEADER_ROLES as readonly string[]).includes(rest))
      throw new ChaosError(`target ${JSON.stringify(t)}: a leader is one of ${LEADER_ROLES.map((r) => `leader:${r}`).join(", ")}`);
    return { kind: "leader", of: rest as LeaderRole };
  }
  if (prefix === "random") {
    if (!(RANDOM_KINDS as readonly string[]).includes(rest))
      throw new ChaosError(`target ${JSON.stringify(t)}: random: takes one of ${RANDOM_KINDS.join(", ")}`);
    return { kind: "random", of: rest };
  }
  if (prefix) throw new ChaosError(`target ${JSON.stringify(t)}: unknown role "${prefix}" (leader:..., random:...)`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(t))
    throw new ChaosError(`target ${JSON.stringify(t)}: a component's short name, such as etcd-1, apiserver-2 or node-3`);
  return { kind: "component", name: t };
}

/**
 * A deterministic pseudo-random source from a seed (mulberry32): the same seed gives the same
 * choices, so a scenario replays the same faults.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `candidates` (sorted first, so the choice depends on the seed only). */
export function chooseSeeded(candidates: readonly string[], random: () => number): string {
  if (candidates.length === 0) throw new ChaosError("no component to choose from");
  const sorted = [...candidates].sort();
  return sorted[Math.floor(random() * sorted.length)]!;
}
