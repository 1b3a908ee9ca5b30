// One run of a scenario: the probe and the recorder start, the steps fire at their offsets (or
// after the steps they follow), each fault is undone when its duration ends, everything still in
// place is undone at the end (or on failure, or when the run is interrupted), the run waits for
// the desired state, then checks the invariants and builds the report.
import type { Deployment, Lease } from "@kubelab/api";
import { type ApiClient, sleep } from "@kubelab/client";
import { analyzeFaults, httpStats, writeStats, type InjectedFault } from "./analysis.js";
import { ChaosError } from "./errors.js";
import { describeFault, inject, type FaultAction, type FaultLedger, type Undo } from "./faults.js";
import {
  checkAcknowledgedReadable,
  checkDesiredStateRestored,
  checkSingleLeader,
  checkWatchExactlyOnce,
  leaseTerms,
  type InvariantResult,
} from "./invariants.js";
import type { Component, LabDocker } from "./labDocker.js";
import { ApiWriter, HttpProbe, PROBE_NAMESPACE, ProbeWatcher, ProbeWorkload, type HttpRecord } from "./probe.js";
import { Recorder } from "./recorder.js";
import { BUCKET_MS, httpBuckets, writeBuckets, type ChaosReport } from "./report.js";
import { componentsByHostname, holderHostname, LEADER_LEASES, peersOf, resolveTarget } from "./resolveTarget.js";
import { PEER_GROUPS, planSchedule, type PlannedStep, type Scenario } from "./schedule.js";

export interface RunOptions {
  scenario: Scenario;
  seed: number;
  lab: LabDocker;
  /** A client of the lab's API servers (every address, so it fails over). */
  client: ApiClient;
  ledger: FaultLedger;
  /** Aborts the run: every fault in place is undone, and the report says "interrupted". */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Leave the probe's namespace in place at the end. */
  keepProbe?: boolean;
}

/** How long the end of a run waits for the watcher to catch up with the last acknowledged write. */
const WATCH_CATCH_UP_MS = 30_000;
/** After the desired state holds, how long the probe keeps going (so recovery shows in its figures). */
const AFTER_RECOVERY_MS = 2_000;

interface InPlace {
  fault: InjectedFault;
  undo: Undo;
  /** What the ledger calls it: "stopped", "killed", "paused", "network". */
  ledgerKind: string;
}

export async function runScenario(opts: RunOptions): Promise<ChaosReport> {
  const { scenario, seed, lab, client, ledger } = opts;
  const log = opts.log ?? (() => {});
  const by = `scenario ${scenario.name}`;
  const plan = planSchedule(scenario, seed);
  const startedAt = new Date().toISOString();
  const stopSteps = new AbortController();
  const onAbort = () => stopSteps.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let failure: string | undefined;

  const workload = new ProbeWorkload(client, scenario.probe);
  const recorder = new Recorder(client, lab);
  const writer =
    scenario.probe.writesPerSecond > 0 ? new ApiWriter(client, scenario.probe.writesPerSecond, `w-${Date.now().toString(36)}`) : undefined;
  const watcher = writer ? new ProbeWatcher(client) : undefined;
  let hostProbe: HttpProbe | undefined;
  let hostProbeNote: string | undefined;
  const faults: InjectedFault[] = [];
  const inPlace = new Map<string, InPlace>();
  let t0 = Date.now();
  let recorderStarted = false;

  const nodeFaultsOn = (name: string) => [...inPlace.values()].some((p) => p.fault.component === name);
  const release = async (key: string): Promise<void> => {
    const p = inPlace.get(key);
    if (!p) return;
    inPlace.delete(key);
    await p.undo();
    p.fault.undoneMs = Date.now();
    log(`+${((p.fault.undoneMs - t0) / 1000).toFixed(1)}s undone: ${p.fault.action} ${p.fault.component}`);
    if (p.fault.kind === "node" && !nodeFaultsOn(p.fault.component)) recorder.excludedNodes.delete(p.fault.component);
  };

  const isLeaderNow = async (c: Component): Promise<boolean> => {
    if (c.kind === "etcd") return recorder.etcdLeaderNow === c.name;
    const lease = LEADER_LEASES[c.kind as keyof typeof LEADER_LEASES];
    if (!lease) return false;
    try {
      const l = await client.get<Lease>("leases", "kube-system", lease);
      return holderHostname(l.spec?.holderIdentity ?? "") === (await lab.hostname(c));
    } catch {
      return false;
    }
  };

  /** Runs a step's action; for a fault with a duration, returns when it is to be undone. */
  const runStep = async (step: PlannedStep): Promise<number | undefined> => {
    const at = Date.now();
    if (step.action === "rollout-restart") {
      const name = step.targetText.slice("deployment/".length);
      const namespace = step.namespace ?? PROBE_NAMESPACE;
      await client.patch<Deployment>("deployments", namespace, name, {
        spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date(at).toISOString() } } } },
      });
      faults.push({
        step: step.name,
        action: step.action,
        targetText: step.targetText,
        component: `${namespace}/${name}`,
        kind: "deployment",
        detail: "rollout restart",
        injectedMs: at,
      });
      log(`+${((at - t0) / 1000).toFixed(1)}s ${step.name}: rollout restart of deployment ${namespace}/${name}`);
      return undefined;
    }
    const c = await resolveTarget(step.target!, step.draw, {
      lab,
      api: client,
      exclude: new Set([...inPlace.values()].map((p) => p.fault.component)),
    });
    const wasLeader = await isLeaderNow(c);
    const base = { step: step.name, action: step.action, targetText: step.targetText, component: c.name, kind: c.kind, wasLeader };
    if (step.action === "start" || step.action === "unpause" || step.action === "restart") {
      const injectedMs = Date.now();
      if (step.action === "start") await lab.start(c);
      else if (step.action === "unpause") await lab.unpause(c);
      else await lab.restart(c);
      faults.push({ ...base, detail: step.action, injectedMs });
      // It ends a fault an earlier step left in place on this component.
      const kinds = step.action === "unpause" ? ["paused"] : ["stopped", "killed", "paused"];
      for (const [key, p] of inPlace) {
        if (p.fault.component !== c.name || !kinds.includes(p.ledgerKind)) continue;
        inPlace.delete(key);
        p.fault.undoneMs = Date.now();
        ledger.remove(c.name, kinds as never);
        if (p.fault.kind === "node" && !nodeFaultsOn(c.name)) recorder.excludedNodes.delete(c.name);
      }
      log(`+${((injectedMs - t0) / 1000).toFixed(1)}s ${step.name}: ${step.action} ${c.name}`);
      return undefined;
    }
    let action: FaultAction;
    if (step.action === "partition") {
      const all = await lab.components();
      const peers = peersOf(step.from, all, PEER_GROUPS).filter((p) => p.id !== c.id);
      const peerAddresses = [...new Set(peers.flatMap((p) => Object.values(p.addresses)))];
      if (step.from.length && peerAddresses.length === 0)
        throw new ChaosError(`${step.name}: none of ${step.from.join(", ")} has an address to cut ${c.name} from`);
      action = { action: "partition", peerAddresses, peerNames: peers.map((p) => p.name) };
    } else if (step.action === "netem") action = { action: "netem", settings: step.netem! };
    else action = { action: step.action as "stop" | "kill" | "pause" };
    if (c.kind === "node") recorder.excludedNodes.add(c.name);
    const injectedMs = Date.now();
    const fault: InjectedFault = { ...base, detail: "", injectedMs };
    let undo: Undo;
    try {
      undo = await inject(lab, ledger, c, action, by);
    } catch (e) {
      if (c.kind === "node" && !nodeFaultsOn(c.name)) recorder.excludedNodes.delete(c.name);
      throw e;
    }
    fault.detail = describeFault(action);
    faults.push(fault);
    inPlace.set(step.name, {
      fault,
      undo,
      ledgerKind:
        action.action === "stop" ? "stopped" : action.action === "kill" ? "killed" : action.action === "pause" ? "paused" : "network",
    });
    log(
      `+${((injectedMs - t0) / 1000).toFixed(1)}s ${step.name}: ${fault.detail} ${c.name}${step.targetText !== c.name ? ` (${step.targetText})` : ""}${wasLeader ? ", the leader" : ""}`,
    );
    return step.durationMs === undefined ? undefined : injectedMs + step.durationMs;
  };

  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = turn.then(fn, fn);
    turn = next.catch(() => undefined);
    return next;
  };

  let lastUndoMs = 0;
  let endMs = 0;
  let callerNote: string | undefined;
  let finalNames = new Set<string>();
  let httpRecords: HttpRecord[] = [];
  try {
    log(`setting up the probe in namespace ${PROBE_NAMESPACE}`);
    await workload.setUp();
    await recorder.start();
    recorderStarted = true;
    if (scenario.probe.http) {
      const node1 =
        (await lab.components()).find((c) => c.name === scenario.probe.callerNode) ??
        (await lab.components()).find((c) => c.kind === "node");
      const address = node1 ? await lab.publishedAddress(node1, workload.nodePort) : undefined;
      if (address) {
        hostProbe = new HttpProbe(`http://${address}/`);
        hostProbe.start();
      } else hostProbeNote = `NodePort ${workload.nodePort} is not published on the host`;
    }
    if (watcher) await watcher.start();
    writer?.start();
    log(`probe running; the first step in ${(scenario.warmupMs / 1000).toFixed(0)} s`);
    await sleep(scenario.warmupMs, stopSteps.signal);
    t0 = Date.now();

    const done = new Map<string, Promise<void>>();
    for (const step of plan) {
      const before = step.after ? done.get(step.after)! : undefined;
      const p = (async () => {
        if (before) {
          await before;
          await sleep(step.waitMs, stopSteps.signal);
        } else await sleep(t0 + step.startMs - Date.now(), stopSteps.signal);
        if (stopSteps.signal.aborted) return;
        let undoAt: number | undefined;
        try {
          // Steps due together act one after another, in the file's order: each sees what the
          // ones before it did (a random: pick never lands on a component already hit).
          undoAt = await inTurn(() => runStep(step));
        } catch (e) {
          failure ??= `${step.name}: ${(e as Error).message}`;
          faults.push({
            step: step.name,
            action: step.action,
            targetText: step.targetText,
            component: "",
            kind: "",
            detail: "",
            injectedMs: Date.now(),
            error: (e as Error).message,
          });
          log(`${step.name} failed: ${(e as Error).message}`);
          stopSteps.abort();
          return;
        }
        if (undoAt === undefined) return;
        await sleep(undoAt - Date.now(), stopSteps.signal);
        if (stopSteps.signal.aborted) return; // the end of the run undoes it
        await inTurn(() => release(step.name)).catch((e: Error) => {
          failure ??= `undoing ${step.name}: ${e.message}`;
          stopSteps.abort();
        });
      })();
      done.set(step.name, p);
    }
    await Promise.all(done.values());
  } catch (e) {
    failure ??= (e as Error).message;
  } finally {
    // Whatever is still in place is undone, in the reverse order of its injection.
    for (const key of [...inPlace.keys()].reverse()) {
      await release(key).catch((e) => {
        failure ??= `undoing ${key}: ${(e as Error).message} (run kubelab chaos heal)`;
      });
    }
    lastUndoMs = Math.max(Date.now(), ...faults.map((f) => f.undoneMs ?? f.injectedMs));
  }

  try {
    if (recorderStarted && !opts.signal?.aborted) {
      log(`every fault undone; waiting up to ${scenario.recoverWithinMs / 1000} s for the desired state`);
      const deadline = lastUndoMs + scenario.recoverWithinMs;
      while (Date.now() < deadline && !opts.signal?.aborted && recorder.problemsNow().length > 0) await sleep(250, opts.signal);
      recorder.desiredChanged();
      await sleep(AFTER_RECOVERY_MS, opts.signal);
    }
    endMs = Date.now();
    await writer?.stop();
    await watcher?.stopAfter(writer?.lastAcknowledged() ?? 0n, WATCH_CATCH_UP_MS);
    await hostProbe?.stop();
    const caller = recorderStarted ? await workload.callerRecords() : { records: [] };
    callerNote = caller.error;
    httpRecords = [...(hostProbe?.records ?? []), ...caller.records];
    if (writer) finalNames = await readBack(client, writer);
  } catch (e) {
    failure ??= (e as Error).message;
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await recorder.stop();
    // A kept probe keeps its objects and web pods for the next run, but no caller calling on.
    if (opts.keepProbe) await workload.stopCaller();
    else await workload.tearDown();
  }

  const writes = writer?.records ?? [];
  const acknowledged = writes.filter((w) => w.ok).map((w) => ({ name: w.name, resourceVersion: w.resourceVersion ?? "0" }));
  const invariants: InvariantResult[] = [];
  if (writer && watcher) {
    invariants.push(checkAcknowledgedReadable(acknowledged, finalNames));
    invariants.push(checkWatchExactlyOnce(acknowledged, watcher.records));
  }
  invariants.push(
    checkSingleLeader(
      recorder.leases,
      recorder.actions.filter((a) => a.atMs <= endMs),
      { scheduler: LEADER_LEASES.scheduler, "controller-manager": LEADER_LEASES["controller-manager"] },
      t0,
    ),
  );
  if (recorderStarted) invariants.push(checkDesiredStateRestored(recorder.desired, lastUndoMs, scenario.recoverWithinMs, endMs));

  const metrics = analyzeFaults(faults, endMs, { reactions: recorder.reactions, desired: recorder.desired, writes, http: httpRecords });
  const rel = (ms: number) => ms - t0;
  const failedByError: Record<string, number> = {};
  for (const w of writes)
    if (!w.ok) failedByError[(w.error ?? "").split(":")[0]!] = (failedByError[(w.error ?? "").split(":")[0]!] ?? 0) + 1;
  const start = Math.min(t0, ...writes.map((w) => w.startMs));
  const outcome: ChaosReport["outcome"] = opts.signal?.aborted
    ? "interrupted"
    : failure || invariants.some((i) => !i.pass)
      ? "failed"
      : "passed";
  const etcdSpans: ChaosReport["timeline"]["etcdLeader"] = [];
  for (const s of recorder.etcdSamples) {
    const last = etcdSpans.at(-1);
    if (last && last.leader === s.leader) last.toMs = rel(s.atMs);
    else {
      if (last) last.toMs = rel(s.atMs);
      etcdSpans.push({ fromMs: rel(s.atMs), toMs: rel(s.atMs), leader: s.leader });
    }
  }
  if (etcdSpans.length) etcdSpans.at(-1)!.toMs = rel(endMs);
  // A Lease names its holder by hostname; the timeline names the lab's component.
  const replicated = (await lab.components().catch(() => [])).filter((c) => c.kind in LEADER_LEASES);
  const holders = await componentsByHostname(lab, replicated);
  const nodeSpans: ChaosReport["timeline"]["nodes"] = [];
  for (const n of recorder.nodeReady) {
    const open = nodeSpans.filter((s) => s.node === n.node).at(-1);
    if (open) open.toMs = rel(n.atMs);
    nodeSpans.push({ node: n.node, fromMs: rel(n.atMs), toMs: rel(endMs), ready: n.ready });
  }

  return {
    kubelab: "chaos-report/v1",
    scenario: { name: scenario.name, description: scenario.description },
    seed,
    project: lab.project,
    startedAt,
    t0Ms: t0,
    durationMs: rel(endMs),
    outcome,
    error: failure,
    settings: { writesPerSecond: scenario.probe.writesPerSecond, http: scenario.probe.http, recoverWithinMs: scenario.recoverWithinMs },
    totals: {
      writes: { ...writeStats(writes, start, endMs), failedByError },
      httpHost: { ...httpStats(hostProbe?.records ?? [], start, endMs) },
      httpPod: {
        ...httpStats(
          httpRecords.filter((r) => r.from === "pod"),
          start,
          endMs,
        ),
        unreadable: callerNote ?? (scenario.probe.http ? hostProbeNote : undefined),
      },
      watchEvents: watcher?.records.filter((r) => r.kind === "event").length ?? 0,
      watchResumes: watcher?.records.filter((r) => r.kind === "resume").length ?? 0,
      watchRelists: Math.max(0, (watcher?.records.filter((r) => r.kind === "relist").length ?? 0) - 1),
    },
    faults: metrics.map((m) => ({
      ...m,
      fault: {
        ...m.fault,
        injectedAtMs: rel(m.fault.injectedMs),
        undoneAtMs: m.fault.undoneMs === undefined ? undefined : rel(m.fault.undoneMs),
      },
      windowMs: [rel(m.windowMs[0]), rel(m.windowMs[1])],
    })),
    invariants,
    timeline: {
      bucketMs: BUCKET_MS,
      writes: writeBuckets(writes, t0, endMs),
      httpHost: httpBuckets(
        httpRecords.filter((r) => r.from === "host"),
        t0,
        endMs,
      ),
      httpPod: httpBuckets(
        httpRecords.filter((r) => r.from === "pod"),
        t0,
        endMs,
      ),
      etcdLeader: etcdSpans,
      leaseTerms: leaseTerms(recorder.leases).map((t) => ({
        ...t,
        component: holders.get(holderHostname(t.holder))?.name,
        fromMs: rel(t.fromMs),
        toMs: rel(t.toMs),
      })),
      nodes: nodeSpans,
      desired: recorder.desired.map((d) => ({ ...d, atMs: rel(d.atMs) })),
      reactions: recorder.reactions.map((r) => ({ ...r, atMs: rel(r.atMs) })).sort((a, b) => a.atMs - b.atMs),
      droppedReactions: recorder.droppedReactions,
    },
  };
}

/** The names of the writer's objects as the API holds them at the end (read in pages, retried while the API recovers). */
async function readBack(client: ApiClient, writer: ApiWriter): Promise<Set<string>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const list = await client.listAll("configmaps", { namespace: PROBE_NAMESPACE, limit: 500 });
      return new Set(list.items.map((c) => c.metadata!.name));
    } catch (e) {
      if (Date.now() > deadline)
        throw new ChaosError(`could not read the writer's ${writer.records.length} objects back: ${(e as Error).message}`);
      await sleep(500);
    }
  }
}
