import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// `kubelab chaos` on a composed lab of its own, run as a user runs it: the CLI's commands and
// scenario files, its exit code, its report. Its fault ledger goes to a directory of the test's.

const CLI = path.resolve(import.meta.dirname, "../../cli/bin/kubelab.js");

interface Report {
  outcome: string;
  invariants: Array<{ name: string; pass: boolean; summary: string; violations: string[] }>;
  faults: Array<{
    fault: { step: string; action: string; component: string; wasLeader?: boolean; error?: string };
    detectMs?: number;
    writes: { ratio?: number; longestGapMs: number };
  }>;
  totals: {
    writes: { succeeded: number; attempts: number };
    httpHost: { attempts: number };
    httpPod: { attempts: number };
    watchEvents: number;
  };
  timeline: { reactions: Array<{ source: string; subject: string; what: string }> };
}

describe("kubelab chaos on the composed lab", () => {
  const lab = new TestLab();
  const dir = mkdtempSync(path.join(tmpdir(), "kubelab-chaos-e2e-"));
  const env = { ...process.env, XDG_STATE_HOME: path.join(dir, "state") };
  const running: ChildProcess[] = [];

  /** The CLI against this lab: stdout, stderr and the exit code. */
  const chaos = (args: string[], timeoutMs = 60_000) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, "--server", lab.server, "chaos", "--project", lab.project, ...args],
        { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
    });

  const scenario = (name: string, yaml: string) => {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, yaml);
    return file;
  };

  const latestReport = (out: string, name: string): Report => {
    const file = readdirSync(out)
      .filter((f) => f.startsWith(name) && f.endsWith(".json"))
      .sort()
      .at(-1);
    return JSON.parse(readFileSync(path.join(out, file!), "utf8")) as Report;
  };

  beforeAll(async () => {
    await lab.start();
  });
  afterAll(() => {
    for (const p of running) p.kill("SIGKILL");
    lab.stop();
  });

  it("runs a schedule of etcd, API server and leader faults through a rollout, and every invariant holds", async () => {
    const file = scenario(
      "control-plane",
      `
name: control-plane
description: etcd's leader killed, an API server stopped, then the scheduler's and controller-manager's leaders killed during a rollout
warmup: 3s
steps:
  - {name: kill-etcd-leader, at: 2s, action: kill, target: leader:etcd, duration: 8s}
  - {name: stop-apiserver, at: 12s, action: stop, target: apiserver-1, duration: 8s}
  - {name: rollout, at: 22s, action: rollout-restart, target: deployment/chaos-web}
  - {name: kill-scheduler, at: 23s, action: kill, target: leader:scheduler, duration: 14s}
  - {name: kill-controller-manager, at: 23s, action: kill, target: leader:controller-manager, duration: 14s}
recoverWithin: 90s
`,
    );
    const out = path.join(dir, "reports");
    const r = await chaos(["run", file, "--seed", "1", "--out", out], 280_000);
    const report = latestReport(out, "control-plane");
    expect(
      report.invariants.filter((i) => !i.pass),
      r.stdout + r.stderr,
    ).toEqual([]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/PASSED/);
    expect(report.invariants.map((i) => i.name)).toEqual([
      "every acknowledged write is still readable",
      "the watcher saw every acknowledged write exactly once, in resourceVersion order",
      "at most one acting leader per component at any instant",
      "the desired state is restored within 90 s after the last fault",
    ]);
    const byStep = Object.fromEntries(report.faults.map((f) => [f.fault.step, f]));
    expect(byStep["kill-etcd-leader"]!.fault).toMatchObject({ action: "kill", wasLeader: true });
    expect(byStep["kill-etcd-leader"]!.fault.component).toMatch(/^etcd-\d$/);
    expect(byStep["kill-scheduler"]!.fault).toMatchObject({ wasLeader: true });
    expect(byStep["kill-scheduler"]!.fault.component).toMatch(/^scheduler-\d$/);
    expect(byStep["kill-controller-manager"]!.fault.component).toMatch(/^controller-manager-\d$/);
    // The cluster noticed: a new etcd leader, the Leases taken over by the standbys.
    expect(byStep["kill-etcd-leader"]!.detectMs).toBeDefined();
    expect(byStep["kill-scheduler"]!.detectMs).toBeDefined();
    const acquired = report.timeline.reactions.filter((x) => x.source === "lease" && x.what === "acquired").map((x) => x.subject);
    expect(acquired).toEqual(expect.arrayContaining(["kube-scheduler", "kube-controller-manager"]));
    // What users felt: writes flowed through all of it, HTTP probes ran from both sides.
    expect(report.totals.writes.succeeded).toBeGreaterThan(1000);
    expect(report.totals.watchEvents).toBeGreaterThanOrEqual(report.totals.writes.succeeded);
    expect(report.totals.httpHost.attempts).toBeGreaterThan(100);
    expect(report.totals.httpPod.attempts).toBeGreaterThan(100);
    expect(byStep["stop-apiserver"]!.writes.ratio).toBeGreaterThan(0.9);
    // The report's page and timeline are there, self-contained.
    const html = readdirSync(out).find((f) => f.startsWith("control-plane") && f.endsWith(".html"))!;
    const page = readFileSync(path.join(out, html), "utf8");
    expect(page).toContain("<svg");
    expect(page).not.toMatch(/<(script|link)[^>]+src=/);
  });

  it("heal undoes what a run left in place when it was killed", async () => {
    const file = scenario(
      "left-behind",
      `
name: left-behind
warmup: 1s
probe: {writesPerSecond: 5, http: false}
steps:
  - {name: pause-node, at: 0s, action: pause, target: random:node, duration: 5m}
  - {name: cut-etcd, at: 0s, action: partition, target: etcd-2, from: [etcd], duration: 5m}
`,
    );
    const child = spawn(
      process.execPath,
      [CLI, "--server", lab.server, "chaos", "--project", lab.project, "run", file, "--seed", "4", "--out", dir],
      {
        env,
        stdio: "ignore",
      },
    );
    running.push(child);
    await eventually(
      "both faults in place",
      async () => {
        const s = await chaos(["status"]);
        expect(s.stdout).toMatch(/etcd-2: partition from etcd-0, etcd-1/);
        expect(s.stdout).toMatch(/node-\d: pause/);
      },
      90_000,
    );
    child.kill("SIGKILL");
    const paused = /(node-\d): pause/.exec((await chaos(["status"])).stdout)![1]!;
    expect(await lab.docker("inspect", "-f", "{{.State.Paused}}", lab.container(paused))).toMatch(/true/);
    const healed = await chaos(["heal"]);
    expect(healed).toMatchObject({ code: 0 });
    expect(healed.stdout).toMatch(new RegExp(`healed ${paused}: pause`));
    expect(healed.stdout).toMatch(/healed etcd-2: partition from etcd-0, etcd-1/);
    expect(await lab.docker("inspect", "-f", "{{.State.Paused}}", lab.container(paused))).toMatch(/false/);
    expect((await chaos(["status"])).stdout).toMatch(/no fault in place/);
    // etcd-2 hears the others again: the whole cluster answers through it.
    await eventually("etcd-2 back in the cluster", async () => {
      const out = await lab.docker(
        "exec",
        lab.container("etcd-2"),
        "etcdctl",
        "--command-timeout=2s",
        "endpoint",
        "health",
        "--cluster",
        "-w",
        "json",
      );
      expect((JSON.parse(out) as Array<{ health: boolean }>).map((m) => m.health)).toEqual([true, true, true]);
    });
    expect((await chaos(["heal"])).stdout).toMatch(/nothing to heal/);
  });

  it("injects and heals single faults by hand, and refuses what it cannot do with a reason", async () => {
    const cut = await chaos(["partition", "etcd-0", "--from", "etcd-1", "--from", "etcd-2"]);
    expect(cut).toMatchObject({ code: 0 });
    expect(cut.stdout).toMatch(/etcd-0: partition from etcd-1, etcd-2/);
    await eventually("etcd-0 cut off from its peers", async () => {
      await expect(
        lab.docker(
          "exec",
          lab.container("etcd-0"),
          "etcdctl",
          "--command-timeout=1s",
          "--endpoints=http://etcd-1:2379",
          "endpoint",
          "health",
        ),
      ).rejects.toThrow();
    });
    expect((await chaos(["heal", "etcd-0"])).stdout).toMatch(/healed etcd-0: partition/);
    await lab.docker(
      "exec",
      lab.container("etcd-0"),
      "etcdctl",
      "--command-timeout=2s",
      "--endpoints=http://etcd-1:2379",
      "endpoint",
      "health",
    );

    // The same seed picks the same node.
    const first = await chaos(["pause", "random:node", "--seed", "11"]);
    const picked = /paused (node-\d)/.exec(first.stdout)?.[1];
    expect(picked, first.stdout + first.stderr).toBeDefined();
    expect((await chaos(["unpause", picked!])).stdout).toMatch(new RegExp(`unpaused ${picked}`));
    expect((await chaos(["pause", "random:node", "--seed", "11"])).stdout).toMatch(new RegExp(`paused ${picked} \\(random:node\\)`));
    expect((await chaos(["heal"])).stdout).toMatch(new RegExp(`healed ${picked}: pause`));

    // Delay needs the kernel's netem: it works, or says plainly that it cannot.
    const slow = await chaos(["netem", "etcd-1", "--delay", "50ms"]);
    if (slow.code === 0) expect((await chaos(["heal", "etcd-1"])).code).toBe(0);
    else expect(slow.stderr).toMatch(/no netem queueing discipline \(CONFIG_NET_SCH_NETEM/);
    const lossy = await chaos(["netem", "etcd-1", "--loss", "5%"]);
    expect(lossy).toMatchObject({ code: 0 });
    expect(lossy.stdout).toMatch(/netem loss 5%/);
    expect((await chaos(["heal", "etcd-1"])).stdout).toMatch(/healed etcd-1: netem loss 5%/);

    for (const [args, message] of [
      [["partition", "kube-proxy-1"], /kube-proxy-1 shares node-1's network namespace/],
      [["partition", "pod-network"], /host's network namespace/],
      [["stop", "etcd-9"], /no component named "etcd-9" in the lab .*; its components: apiserver-1, /],
      [["stop", "leader:dns"], /a leader is one of leader:etcd, leader:scheduler, leader:controller-manager/],
      [["netem", "etcd-1"], /--delay: netem needs a delay or a loss/],
      [["netem", "etcd-1", "--loss", "120%"], /--loss: invalid value "120%": must be a percentage from 0% to 100%/],
      [["partition", "etcd-1", "--from", "nothing"], /from: no component or group named "nothing"/],
    ] as Array<[string[], RegExp]>) {
      const r = await chaos(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
    expect((await chaos(["status"])).stdout).toMatch(/no fault in place/);
  });

  it("refuses a scenario with a mistake before doing anything, naming the field", async () => {
    const file = scenario("bad", "name: bad\nsteps:\n  - {at: 1s, action: explode, target: node-1}\n");
    const r = await chaos(["run", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml: steps\[0\]\.action: unknown action "explode" \(one of stop, start, kill/);
    expect((await chaos(["status"])).stdout).toMatch(/no fault in place/);
  });
});
