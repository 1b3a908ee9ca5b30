// A target resolved to one component at the moment an action runs: by name, by the seed's draw
// among a kind's components, or as the leader of etcd, the schedulers or the controller-managers.
import type { Lease } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { ChaosError } from "./errors.js";
import { EtcdMembers, etcdLeader } from "./etcdMembers.js";
import type { Component, LabDocker } from "./labDocker.js";
import { chooseSeeded, type LeaderRole, type Target } from "./targets.js";

/** The Lease in kube-system each replicated component campaigns for, as Kubernetes names them. */
export const LEADER_LEASES: Record<Exclude<LeaderRole, "etcd">, string> = {
  scheduler: "kube-scheduler",
  "controller-manager": "kube-controller-manager",
  "cloud-controller-manager": "cloud-controller-manager",
};

/** The hostname in a Lease's holderIdentity (`<hostname>_<uuid>`, as client-go writes it). */
export const holderHostname = (holderIdentity: string) => holderIdentity.split("_")[0] ?? "";

/** Components by their containers' hostnames, which a Lease's holderIdentity names (none for one gone meanwhile). */
export async function componentsByHostname(lab: LabDocker, components: Component[]): Promise<Map<string, Component>> {
  const byHostname = new Map<string, Component>();
  for (const c of components) {
    const hostname = await lab.hostname(c).catch(() => "");
    if (hostname) byHostname.set(hostname, c);
  }
  return byHostname;
}

export interface ResolveContext {
  lab: LabDocker;
  /** Needed for leader:scheduler and leader:controller-manager. */
  api?: ApiClient;
  etcd?: EtcdMembers;
  /** Components a random: target must not pick (those already under a fault of the same run). */
  exclude?: ReadonlySet<string>;
}

export async function resolveTarget(target: Target, draw: number, ctx: ResolveContext): Promise<Component> {
  const { lab } = ctx;
  if (target.kind === "component") return lab.component(target.name);
  const all = await lab.components();
  if (target.kind === "random") {
    const candidates = all.filter((c) => c.kind === target.of && !ctx.exclude?.has(c.name));
    if (candidates.length === 0)
      throw new ChaosError(
        `random:${target.of}: the lab "${lab.project}" has no ${target.of} component${ctx.exclude?.size ? " that is not under a fault already" : ""}`,
      );
    const name = chooseSeeded(
      candidates.map((c) => c.name),
      () => draw,
    );
    return candidates.find((c) => c.name === name)!;
  }
  if (target.of === "etcd") {
    const etcd = ctx.etcd ?? new EtcdMembers(lab);
    try {
      const statuses = await etcd.statuses(all);
      const leader = etcdLeader(statuses);
      if (!leader)
        throw new ChaosError(
          `leader:etcd: no member is leader now (${statuses.map((s) => `${s.name} ${s.reachable ? `names ${s.leaderId === "0" ? "no leader" : "a leader"}` : "unreachable"}`).join(", ")})`,
        );
      return all.find((c) => c.name === leader)!;
    } finally {
      if (!ctx.etcd) etcd.close();
    }
  }
  if (!ctx.api) throw new Error(`leader:${target.of} needs the API`);
  const leaseName = LEADER_LEASES[target.of];
  let lease: Lease;
  try {
    lease = await ctx.api.get<Lease>("leases", "kube-system", leaseName);
  } catch (e) {
    throw new ChaosError(`leader:${target.of}: cannot read the Lease kube-system/${leaseName}: ${(e as Error).message}`);
  }
  const holder = lease.spec?.holderIdentity ?? "";
  if (!holder) throw new ChaosError(`leader:${target.of}: nobody holds the Lease kube-system/${leaseName} now`);
  const candidates = all.filter((c) => c.kind === target.of && (c.state === "running" || c.state === "paused"));
  const holding = (await componentsByHostname(lab, candidates)).get(holderHostname(holder));
  if (holding) return holding;
  throw new ChaosError(`leader:${target.of}: the Lease's holder ${holder} is none of the lab's ${target.of} containers`);
}

/** Every component a partition's `from` names: components, kinds ("etcd") or "control-plane". */
export function peersOf(from: string[], all: Component[], groups: Record<string, string[]>): Component[] {
  const out = new Map<string, Component>();
  for (const f of from) {
    const kinds = groups[f];
    const matched = kinds ? all.filter((c) => kinds.includes(c.kind)) : all.filter((c) => c.name === f);
    if (matched.length === 0)
      throw new ChaosError(`from: no component or group named "${f}" in the lab (groups: ${Object.keys(groups).join(", ")})`);
    for (const c of matched) out.set(c.name, c);
  }
  return [...out.values()];
}
