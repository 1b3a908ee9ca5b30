import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Lease } from "@kubelab/api";
import {
  ChaosError,
  componentsByHostname,
  describeFault,
  EtcdMembers,
  etcdLeader,
  FaultLedger,
  healAll,
  holderHostname,
  inject,
  isSeed,
  LabDocker,
  MAX_SEED,
  LEADER_LEASES,
  ledgerPath,
  netemSettings,
  parseScenario,
  parseTarget,
  PEER_GROUPS,
  peersOf,
  reportHtml,
  resolveTarget,
  runScenario,
  seededRandom,
  summaryText,
  timelineSvg,
  undo,
  type Component,
  type FaultAction,
} from "@kubelab/chaos";
import { connect, type GlobalOptions } from "../context.js";

export interface ChaosOptions extends GlobalOptions {
  project?: string;
  seed?: string;
}

/** The lab's compose project: --project, else $KUBELAB_PROJECT or $COMPOSE_PROJECT_NAME, else "kubelab". */
export const projectOf = (o: ChaosOptions) => o.project || process.env.KUBELAB_PROJECT || process.env.COMPOSE_PROJECT_NAME || "kubelab";

function seedOf(o: ChaosOptions, fallback?: number): number {
  if (o.seed === undefined) return fallback ?? Math.floor(Math.random() * 2 ** 31);
  const n = /^\d+$/.test(o.seed) ? Number(o.seed) : Number.NaN;
  if (!isSeed(n)) throw new ChaosError(`--seed: invalid value ${JSON.stringify(o.seed)}: must be a whole number from 0 to ${MAX_SEED}`);
  return n;
}

interface Context {
  lab: LabDocker;
  ledger: FaultLedger;
  close(): void;
  resolve(text: string): Promise<Component>;
}

function context(o: ChaosOptions): Context {
  const lab = new LabDocker(projectOf(o));
  const ledger = new FaultLedger(ledgerPath(lab.project));
  let client: ReturnType<typeof connect> | undefined;
  const seed = seedOf(o);
  return {
    lab,
    ledger,
    close: () => client?.close(),
    resolve: async (text) => {
      const target = parseTarget(text);
      if (target.kind === "leader" && target.of !== "etcd") client ??= connect(o);
      if (target.kind === "random" && o.seed === undefined)
        process.stderr.write(`seed ${seed} (give --seed ${seed} to choose the same again)\n`);
      return resolveTarget(target, seededRandom(seed)(), { lab, api: client });
    },
  };
}

const named = (c: Component, text: string) => (text === c.name ? c.name : `${c.name} (${text})`);

/** stop | kill | pause: a fault the ledger holds until it is undone (start, unpause, heal). */
export async function chaosFault(action: "stop" | "kill" | "pause", target: string, o: ChaosOptions & { time?: string }): Promise<void> {
  const ctx = context(o);
  try {
    const c = await ctx.resolve(target);
    const timeoutS = o.time === undefined ? undefined : Number(o.time);
    if (timeoutS !== undefined && !(Number.isInteger(timeoutS) && timeoutS >= 0))
      throw new ChaosError(`--time: invalid value ${JSON.stringify(o.time)}: must be a whole number of seconds`);
    await inject(ctx.lab, ctx.ledger, c, action === "stop" ? { action, timeoutS } : { action }, `kubelab chaos ${action}`);
    process.stdout.write(`${{ stop: "stopped", kill: "killed", pause: "paused" }[action]} ${named(c, target)}\n`);
  } finally {
    ctx.close();
  }
}

/** start | unpause | restart: a component back (and the ledger's fault on it forgotten). */
export async function chaosRecover(
  action: "start" | "unpause" | "restart",
  target: string,
  o: ChaosOptions & { time?: string },
): Promise<void> {
  const ctx = context(o);
  try {
    const c = await ctx.resolve(target);
    if (action === "start") await ctx.lab.start(c);
    else if (action === "unpause") await ctx.lab.unpause(c);
    else await ctx.lab.restart(c, o.time === undefined ? undefined : Number(o.time));
    ctx.ledger.remove(c.name, action === "unpause" ? ["paused"] : ["stopped", "killed", "paused"]);
    process.stdout.write(`${{ start: "started", unpause: "unpaused", restart: "restarted" }[action]} ${named(c, target)}\n`);
  } finally {
    ctx.close();
  }
}

export async function chaosPartition(target: string, o: ChaosOptions & { from?: string[] }): Promise<void> {
  const ctx = context(o);
  try {
    const c = await ctx.resolve(target);
    const from = o.from ?? [];
    const peers = peersOf(from, await ctx.lab.components(), PEER_GROUPS).filter((p) => p.id !== c.id);
    const peerAddresses = [...new Set(peers.flatMap((p) => Object.values(p.addresses)))];
    if (from.length && peerAddresses.length === 0)
      throw new ChaosError(`--from: none of ${from.join(", ")} has an address to cut ${c.name} from`);
    const action: FaultAction = { action: "partition", peerAddresses, peerNames: peers.map((p) => p.name) };
    await inject(ctx.lab, ctx.ledger, c, action, "kubelab chaos partition");
    process.stdout.write(`${named(c, target)}: ${describeFault(action)} (undo: kubelab chaos heal ${c.name})\n`);
  } finally {
    ctx.close();
  }
}

export async function chaosNetem(target: string, o: ChaosOptions & { delay?: string; jitter?: string; loss?: string }): Promise<void> {
  const settings = netemSettings({ delay: o.delay, jitter: o.jitter, loss: o.loss }, "--");
  const ctx = context(o);
  try {
    const c = await ctx.resolve(target);
    const action: FaultAction = { action: "netem", settings };
    await inject(ctx.lab, ctx.ledger, c, action, "kubelab chaos netem");
    process.stdout.write(`${named(c, target)}: ${describeFault(action)} (undo: kubelab chaos heal ${c.name})\n`);
  } finally {
    ctx.close();
  }
}

/** Undoes the faults in the ledger (of one component, or all), and any network fault on that component. */
export async function chaosHeal(target: string | undefined, o: ChaosOptions): Promise<void> {
  const ctx = context(o);
  try {
    if (target) {
      const c = await ctx.resolve(target);
      const entries = ctx.ledger.list().filter((e) => e.component === c.name);
      for (const e of entries) await undo(ctx.lab, ctx.ledger, e);
      // Healing a network is harmless when nothing was done to it: also cleans up after a crash the ledger missed.
      await ctx.lab.healNetwork((await ctx.lab.components()).find((x) => x.id === c.id) ?? c).catch(() => undefined);
      process.stdout.write(
        entries.length ? entries.map((e) => `healed ${e.component}: ${e.detail}\n`).join("") : `healed ${c.name}: its network is clear\n`,
      );
      return;
    }
    const undone = await healAll(ctx.lab, ctx.ledger);
    process.stdout.write(
      undone.length
        ? undone.map((e) => `healed ${e.component}: ${e.detail} (by ${e.by}, since ${e.since})\n`).join("")
        : "nothing to heal\n",
    );
  } finally {
    ctx.close();
  }
}

/** The lab's components, its leaders and the faults in place. */
export async function chaosStatus(o: ChaosOptions): Promise<void> {
  const ctx = context(o);
  const client = connect(o);
  const etcd = new EtcdMembers(ctx.lab);
  try {
    const all = await ctx.lab.components();
    if (all.length === 0) throw new ChaosError(`no lab is running under the compose project "${ctx.lab.project}"`);
    const statuses = await etcd.statuses(all);
    const leaders: string[] = [`etcd: ${etcdLeader(statuses) ?? "none"}`];
    for (const [role, lease] of Object.entries(LEADER_LEASES)) {
      const holder = await client
        .get<Lease>("leases", "kube-system", lease)
        .then((l) => l.spec?.holderIdentity || "none")
        .catch((e: Error) => `unknown (${e.message})`);
      const running = all.filter((c) => c.kind === role && c.state === "running");
      const holding = (await componentsByHostname(ctx.lab, running)).get(holderHostname(holder));
      leaders.push(`${role}: ${holding ? `${holding.name} (${holder})` : holder}`);
    }
    const faults = ctx.ledger.list();
    const lines = [
      `lab ${ctx.lab.project}`,
      ...all.map((c) => `  ${c.name.padEnd(22)} ${c.state}`),
      "leaders:",
      ...leaders.map((l) => `  ${l}`),
      faults.length ? "faults in place (kubelab chaos heal undoes them):" : "no fault in place",
      ...faults.map((f) => `  ${f.component}: ${f.detail} (by ${f.by}, since ${f.since})`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    etcd.close();
    client.close();
  }
}

const stamp = () =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")
    .replace("T", "-");

/** Runs a scenario file; exit 1 when an invariant fails (or the run fails), 130 when interrupted. */
export async function chaosRun(file: string, o: ChaosOptions & { out?: string; keepProbe?: boolean }): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ChaosError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let scenario: ReturnType<typeof parseScenario>;
  try {
    scenario = parseScenario(text);
  } catch (e) {
    if (e instanceof ChaosError) throw new ChaosError(`${file}: ${e.message}`);
    throw e;
  }
  const seed = seedOf(o, scenario.seed);
  const lab = new LabDocker(projectOf(o));
  if ((await lab.components()).length === 0)
    throw new ChaosError(`no lab is running under the compose project "${lab.project}" (start one with npm run lab, or give --project)`);
  const client = connect(o);
  const interrupt = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write("\ninterrupted: undoing every fault in place (Ctrl-C again to leave at once; then run kubelab chaos heal)\n");
      interrupt.abort();
    } else process.exit(130);
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  try {
    process.stderr.write(`scenario ${scenario.name}, seed ${seed}, lab ${lab.project}\n`);
    const report = await runScenario({
      scenario,
      seed,
      lab,
      client,
      ledger: new FaultLedger(ledgerPath(lab.project)),
      signal: interrupt.signal,
      log: (l) => process.stderr.write(`  ${l}\n`),
      keepProbe: o.keepProbe,
    });
    const dir = o.out ?? "chaos-reports";
    mkdirSync(dir, { recursive: true });
    const base = path.join(dir, `${scenario.name}-${stamp()}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.html`, reportHtml(report));
    writeFileSync(`${base}.svg`, timelineSvg(report));
    process.stdout.write(`${summaryText(report)}\n\nreport: ${base}.html (timeline ${base}.svg, data ${base}.json)\n`);
    process.exitCode = report.outcome === "passed" ? 0 : report.outcome === "interrupted" ? 130 : 1;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    client.close();
  }
}
