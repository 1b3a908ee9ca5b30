// Injecting one fault and undoing it. Every fault that is in place is written to a ledger file
// first, so `kubelab chaos heal` can undo what a run that crashed (or a command by hand) left.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ChaosError } from "./errors.js";
import type { Component, LabDocker } from "./labDocker.js";
import { delayCommands, lossCommands, partitionCommands, type NetCommand } from "./netRules.js";
import type { NetemSettings } from "./schedule.js";

/** A fault in place: what undoes it is fixed by its kind. */
export interface LedgerEntry {
  kind: "stopped" | "killed" | "paused" | "network";
  component: string;
  containerId: string;
  /** ISO time it was injected. */
  since: string;
  /** "kubelab chaos <command>" or "scenario <name>". */
  by: string;
  /** What it was (for heal's report): "partition from etcd-1, etcd-2", "netem delay 200ms". */
  detail: string;
}

/** Where the ledger of a lab's faults lives: $XDG_STATE_HOME/kubelab (or ~/.local/state/kubelab). */
export function ledgerPath(project: string): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  return path.join(base, "kubelab", `chaos-${project}.json`);
}

export class FaultLedger {
  constructor(readonly file: string) {}

  list(): LedgerEntry[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as { faults?: LedgerEntry[] };
      return Array.isArray(parsed.faults) ? parsed.faults : [];
    } catch {
      return [];
    }
  }

  private write(faults: LedgerEntry[]): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    // Written aside and renamed, so a crash mid-write never leaves half a ledger.
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ faults }, null, 2)}\n`);
    renameSync(tmp, this.file);
  }

  add(entry: LedgerEntry): void {
    this.write([...this.list(), entry]);
  }

  /** Forgets the faults of a component that `undone` matches (all of its kinds when omitted). */
  remove(component: string, kinds?: LedgerEntry["kind"][]): void {
    this.write(this.list().filter((f) => f.component !== component || (kinds !== undefined && !kinds.includes(f.kind))));
  }
}

/** A fault's own action; what happens to the component. */
export type FaultAction =
  | { action: "stop"; timeoutS?: number }
  | { action: "kill" }
  | { action: "pause" }
  | { action: "partition"; peerAddresses: string[]; peerNames: string[] }
  | { action: "netem"; settings: NetemSettings };

/** What undoes an injected fault, returned by inject. */
export type Undo = () => Promise<void>;

export function describeFault(a: FaultAction): string {
  switch (a.action) {
    case "partition":
      return a.peerNames.length ? `partition from ${a.peerNames.join(", ")}` : "partition from every network";
    case "netem": {
      const s = a.settings;
      const parts = [
        s.delayMs ? `delay ${s.delayMs}ms${s.jitterMs ? ` ±${s.jitterMs}ms` : ""}` : "",
        s.lossPercent ? `loss ${s.lossPercent}%` : "",
      ];
      return `netem ${parts.filter(Boolean).join(" ")}`;
    }
    default:
      return a.action;
  }
}

const LEDGER_KIND: Record<FaultAction["action"], LedgerEntry["kind"]> = {
  stop: "stopped",
  kill: "killed",
  pause: "paused",
  partition: "network",
  netem: "network",
};

/** The commands of a network fault, given the namespace's interfaces. */
function networkCommands(a: FaultAction): (interfaces: string[]) => NetCommand[] {
  if (a.action === "partition") return () => partitionCommands(a.peerAddresses);
  if (a.action === "netem")
    return (ifs) => [...delayCommands(ifs, a.settings), ...(a.settings.lossPercent ? lossCommands(a.settings.lossPercent) : [])];
  throw new Error(`${a.action} is not a network fault`);
}

/**
 * Injects a fault and returns what undoes it. The ledger holds it from just before the action
 * (a crash between the two leaves an entry whose undo is harmless) until its undo succeeds.
 */
export async function inject(lab: LabDocker, ledger: FaultLedger, c: Component, a: FaultAction, by: string): Promise<Undo> {
  const kind = LEDGER_KIND[a.action];
  if (kind === "network") await lab.ownNetwork(c);
  else if (c.state !== "running" && !(a.action === "kill" && c.state === "paused"))
    throw new ChaosError(`${c.name} is ${c.state}: ${a.action} needs it running`);
  ledger.add({ kind, component: c.name, containerId: c.id, since: new Date().toISOString(), by, detail: describeFault(a) });
  try {
    if (a.action === "stop") await lab.stop(c, a.timeoutS);
    else if (a.action === "kill") await lab.kill(c);
    else if (a.action === "pause") await lab.pause(c);
    else await lab.inNetworkNamespace(c, networkCommands(a));
  } catch (e) {
    if (kind === "network") await lab.healNetwork(c).catch(() => undefined);
    ledger.remove(c.name, [kind]);
    throw e;
  }
  return () => undo(lab, ledger, { kind, component: c.name, containerId: c.id });
}

/** Undoes one ledger entry's fault, on the container as it is now, and forgets it. */
export async function undo(
  lab: LabDocker,
  ledger: FaultLedger,
  entry: Pick<LedgerEntry, "kind" | "component" | "containerId">,
): Promise<void> {
  const all = await lab.components();
  const c = all.find((x) => x.id === entry.containerId) ?? all.find((x) => x.name === entry.component);
  if (c) {
    if (entry.kind === "network") await lab.healNetwork(c);
    else if (entry.kind === "paused") await lab.unpause(c);
    else await lab.start(c);
  }
  ledger.remove(entry.component, [entry.kind]);
}

/** Undoes every fault in the ledger (what `kubelab chaos heal` does); returns what it undid. */
export async function healAll(lab: LabDocker, ledger: FaultLedger): Promise<LedgerEntry[]> {
  const entries = ledger.list();
  // Network faults first: a component started again gets a fresh namespace anyway.
  const order: LedgerEntry["kind"][] = ["network", "paused", "stopped", "killed"];
  const sorted = [...entries].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  const failures: string[] = [];
  for (const e of sorted) {
    try {
      await undo(lab, ledger, e);
    } catch (err) {
      failures.push(`${e.component} (${e.detail}): ${(err as Error).message}`);
    }
  }
  if (failures.length) throw new ChaosError(`could not undo: ${failures.join("; ")}`);
  return sorted;
}
