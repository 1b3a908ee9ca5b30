import { ChaosError, type ChaosReport, FaultLedger, LabDocker, parseScenario, runScenario } from "@kubelab/chaos";
import { BenchLab } from "./benchLab.js";
import { machineTicks } from "./machine.js";
import { record, type Row } from "./results.js";
import { median } from "./stats.js";

// What users feel when parts of the lab fail, with the probe of `kubelab chaos run` running
// (50 API writes/s and a watcher, HTTP through a Service from the host and from a pod): each
// fault repeated in one scenario, each figure the median of its repetitions with their spread.
// The lab's leader election settings are its own (lease 8 s, renew deadline 6 s, retry 2 s).

const REPEATS = { etcd: 5, apiserver: 6, leaders: 3, rollouts: 3 };
const LEASE_DURATION_S = 8;
const RETRY_PERIOD_S = 2;
// Two of Docker's health check intervals (60 s), whose checks come in one burst across the lab.
const IDLE_SECONDS = 120;

/** A scenario of `n` repetitions of one step, `every` seconds apart. */
function repeated(name: string, n: number, everyS: number, step: (i: number) => string, extra = ""): string {
  const steps = Array.from({ length: n }, (_, i) => step(i).replace(/AT/g, `${3 + i * everyS}s`));
  return `name: ${name}\nwarmup: 5s\n${extra}steps:\n${steps.map((s) => `  - ${s}`).join("\n")}\nrecoverWithin: 120s\n`;
}

const spread = (xs: number[], unit: (x: number) => string) =>
  `${unit(median(xs))} (${xs.length} runs: ${[...xs]
    .sort((a, b) => a - b)
    .map(unit)
    .join(", ")})`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pct = (r: number) => `${(r * 100).toFixed(r === 1 ? 0 : 2)}%`;

/** CPU seconds the whole machine spent busy in `seconds` of an idle lab, per 10 s. */
async function idleCpuPer10s(seconds: number): Promise<number> {
  const a = await machineTicks();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = await machineTicks();
  return ((b.busy - a.busy) / 100 / seconds) * 10;
}

export default async function run(): Promise<void> {
  const lab = new BenchLab();
  const rows: Row[] = [];
  const notes: string[] = [];
  const reports: ChaosReport[] = [];
  try {
    await lab.start();
    const docker = new LabDocker(lab.project);
    const ledger = new FaultLedger(`/tmp/kubelab-bench-chaos-${process.pid}.json`);

    // The idle lab first, once its start-up (compiling, first lists, first health checks) is over.
    await new Promise((r) => setTimeout(r, 60_000));
    const idle = await idleCpuPer10s(IDLE_SECONDS);
    const components = (await docker.components()).length;

    const runOne = async (yaml: string, keepProbe = true): Promise<ChaosReport> => {
      const scenario = parseScenario(yaml);
      process.stderr.write(`bench chaos: ${scenario.name}\n`);
      const report = await runScenario({
        scenario,
        seed: 1,
        lab: docker,
        client: lab.client,
        ledger,
        keepProbe,
        log: (l) => process.stderr.write(`  ${l}\n`),
      });
      if (report.error) throw new ChaosError(`${scenario.name}: ${report.error}`);
      reports.push(report);
      return report;
    };
    const faultsOf = (r: ChaosReport, step: RegExp) => r.faults.filter((f) => step.test(f.fault.step));

    const etcd = await runOne(
      repeated(
        "bench-etcd-leader-kill",
        REPEATS.etcd,
        20,
        (i) => `{name: kill-${i}, at: AT, action: kill, target: leader:etcd, duration: 10s}`,
      ),
    );
    const etcdGaps = faultsOf(etcd, /^kill-/).map((f) => f.writes.longestGapMs);
    rows.push({
      metric: "etcd leader killed: longest API write gap (median, then each run)",
      value: spread(etcdGaps, s),
      target: "≤ 2 s",
      pass: median(etcdGaps) <= 2000,
    });
    rows.push({
      metric: "etcd leader killed: API writes that succeeded in the fault's window (median)",
      value: pct(median(faultsOf(etcd, /^kill-/).map((f) => f.writes.ratio ?? 0))),
      target: "",
    });

    // pick_first keeps a client on the first address that answers: stopping apiserver-1 moves it
    // to apiserver-2, stopping apiserver-2 (1 back by then) moves it back: each stop hits its server.
    const api = await runOne(
      repeated(
        "bench-apiserver-stop",
        REPEATS.apiserver,
        15,
        (i) => `{name: stop-${i}, at: AT, action: stop, target: apiserver-${(i % 2) + 1}, duration: 8s}`,
      ),
    );
    const apiGaps = faultsOf(api, /^stop-/).map((f) => f.writes.longestGapMs);
    rows.push({
      metric: "the probe's API server stopped: longest API write gap (median, then each run)",
      value: spread(apiGaps, s),
      target: "≤ 1 s",
      pass: median(apiGaps) <= 1000,
    });

    const leaders = await runOne(
      repeated(
        "bench-leader-kill",
        REPEATS.leaders,
        30,
        (i) =>
          `{name: kill-scheduler-${i}, at: AT, action: kill, target: leader:scheduler, duration: 15s}\n  - {name: kill-cm-${i}, at: AT, action: kill, target: leader:controller-manager, duration: 15s}`,
      ),
    );
    const goal = (LEASE_DURATION_S + RETRY_PERIOD_S) * 1000;
    for (const [label, re] of [
      ["scheduler", /^kill-scheduler-/],
      ["controller-manager", /^kill-cm-/],
    ] as const) {
      const takeovers = faultsOf(leaders, re)
        .map((f) => f.detectMs)
        .filter((x): x is number => x !== undefined);
      rows.push({
        metric: `${label} leader killed (SIGKILL) → a standby holds the Lease (median, then each run)`,
        value: takeovers.length ? spread(takeovers, s) : "not taken over",
        target: `≤ ${LEASE_DURATION_S + RETRY_PERIOD_S} s (lease + retry; Kubernetes' defaults: 15 s + 2 s)`,
        pass: takeovers.length === REPEATS.leaders && median(takeovers) <= goal,
      });
    }

    const rollouts = await runOne(
      repeated(
        "bench-rolling-update",
        REPEATS.rollouts,
        30,
        (i) => `{name: rollout-${i}, at: AT, action: rollout-restart, target: deployment/chaos-web}`,
      ),
    );
    const hostRatios = faultsOf(rollouts, /^rollout-/).map((f) => f.httpHost.ratio ?? 0);
    const podRatios = faultsOf(rollouts, /^rollout-/).map((f) => f.httpPod.ratio ?? 0);
    const requests = faultsOf(rollouts, /^rollout-/).reduce((n, f) => n + f.httpHost.attempts + f.httpPod.attempts, 0);
    rows.push({
      metric: `rolling update of the Service's Deployment: HTTP success from the host (NodePort) / from a pod (median of ${REPEATS.rollouts})`,
      value: `${pct(median(hostRatios))} / ${pct(median(podRatios))} (${requests} requests)`,
      target: "100%",
      pass: median(hostRatios) === 1 && median(podRatios) === 1,
    });

    const power = await runOne(
      repeated("bench-node-power-loss", 1, 0, () => "{name: power-loss, at: AT, action: kill, target: node-2, duration: 45s}"),
      false,
    );
    const p = faultsOf(power, /^power-loss/)[0]!;
    rows.push({
      metric: "node-2 powered off for 45 s: HTTP success from the host / from a pod (longest gaps)",
      value: `${pct(p.httpHost.ratio ?? 0)} / ${pct(p.httpPod.ratio ?? 0)} (${s(p.httpHost.longestGapMs)} / ${s(p.httpPod.longestGapMs)})`,
      target: "reported",
    });
    rows.push({
      metric: "node-2 powered off: Ready=Unknown after / its pods Ready elsewhere and endpoints complete after",
      value: `${p.detectMs === undefined ? "—" : s(p.detectMs)} / ${p.healedMs === undefined ? "—" : s(p.healedMs)}`,
      target: "",
    });

    const lost = reports.flatMap((r) => r.invariants.filter((i) => i.name.startsWith("every acknowledged write") && !i.pass));
    const acknowledged = reports.reduce((n, r) => n + r.totals.writes.succeeded, 0);
    rows.push({
      metric: "acknowledged writes lost, all runs",
      value: `${lost.length ? "some" : 0} of ${acknowledged}`,
      target: "0",
      pass: lost.length === 0,
    });
    const failedInvariants = reports.flatMap((r) => r.invariants.filter((i) => !i.pass).map((i) => `${r.scenario.name}: ${i.name}`));
    rows.push({
      metric: "invariants that failed, all runs",
      value: failedInvariants.length ? failedInvariants.join("; ") : "none",
      target: "none",
      pass: failedInvariants.length === 0,
    });
    rows.push({
      metric: `idle lab (${components} containers): machine CPU busy per 10 s, over ${IDLE_SECONDS} s`,
      value: `${idle.toFixed(2)} s`,
      target: "≤ 1 s",
      pass: idle <= 1,
    });
    notes.push(
      "Each scenario runs on the composed lab with the probe of `kubelab chaos run` (50 ConfigMap creates/s with a watcher, HTTP GETs one after another through a NodePort from the host and by the Service's name from a pod on node-1, each with a 2 s deadline); the figures are the report's own per-fault figures, each fault's window running to the next fault's injection.",
      "Longest write gap: the longest time in the fault's window with no write acknowledged, the last acknowledgement before the fault counting as its start. The probe's client lists the three API servers (gRPC pick_first).",
      "Takeover: from the SIGKILL of the Lease's holder to the recorder seeing another copy acquire it. A killed holder cannot release the Lease, so a standby waits the lease duration from the last renewal it saw (observed up to a retry period late), and tries again the moment that runs out.",
      `Scenarios: ${reports.map((r) => `${r.scenario.name} ${r.outcome} (${(r.durationMs / 1000).toFixed(0)} s)`).join(", ")}.`,
    );
    record("chaos", rows, notes);
  } finally {
    await lab.stop();
  }
}
