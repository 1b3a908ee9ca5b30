import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
// @ts-expect-error plain ESM shared with scripts/lab.mjs, no type declarations
import * as labTools from "../../scripts/labTools.mjs";
import { freePort, freePortRange } from "@kubelab/testkit";

const exec = promisify(execFile);

interface LabTools {
  root: string;
  buildAll(log?: (m: string) => void, opts?: { workspace?: boolean }): void;
  composeRun(project: string, args: string[], opts?: { quiet?: boolean; env?: Record<string, string>; allowFail?: boolean }): void;
  waitHealthy(project: string, services?: string[], timeoutMs?: number): Promise<void>;
  teardown(project: string): void;
  containerOf(project: string, service: string): string;
  compose(): string[];
  API_PORT_VARS: string[];
  HTTP_PORT_VARS: string[];
  kubeconfigYaml(httpPorts: number[]): string;
  cloudControllerManagerEnv(metricsPorts: number[]): Record<string, string>;
}
const tools = labTools as unknown as LabTools;

/**
 * Set by the e2e run's global setup once it has built the images: the labs of that run start
 * from them without building again (a cached build still costs seconds per lab).
 */
const IMAGES_BUILT_ENV = "KUBELAB_E2E_IMAGES_BUILT";

/** Builds the lab's images (from the built workspace), as a lab's start does, unless this run has built them. */
export function buildImages(): void {
  if (!process.env[IMAGES_BUILT_ENV]) tools.buildAll(() => {}, { workspace: false });
}

/** Where the run's shared lab is described (its project and ports), for the test files after the first. */
const SHARED_LAB_STATE_ENV = "KUBELAB_E2E_SHARED_LAB";

/**
 * The settings of the run's shared lab: the union of what the files sharing it asked of their own
 * labs (short back-offs, a short HPA downscale window); none of them contradicts another.
 */
export const SHARED_LAB_ENV: Record<string, string> = {
  KUBELAB_CRASH_LOOP_BACK_OFF_BASE: "2",
  KUBELAB_IMAGE_PULL_BACK_OFF_BASE: "2",
  KUBELAB_JOB_POD_FAILURE_BACKOFF: "1",
  KUBELAB_HPA_DOWNSCALE_STABILIZATION: "10s",
};

interface SharedLabState {
  project: string;
  ports: number[];
  httpPorts: number[];
  nodePortBase: number;
  composeEnv: Record<string, string>;
}

/**
 * vitest's global setup of the e2e tests: the images, built once for every lab of the run, and
 * the place of the lab the files that can share one share (started by the first of them, removed
 * here when the run ends: each lab start costs half a minute of CI's fifteen).
 */
export function setup(): () => void {
  tools.buildAll(() => {}, { workspace: false });
  process.env[IMAGES_BUILT_ENV] = "1";
  const stateFile = `/tmp/kubelab-e2e-shared-${process.pid}.json`;
  process.env[SHARED_LAB_STATE_ENV] = stateFile;
  return () => {
    if (!existsSync(stateFile)) return;
    tools.teardown((JSON.parse(readFileSync(stateFile, "utf8")) as SharedLabState).project);
    rmSync(stateFile, { force: true });
  };
}

/**
 * The composed lab under a compose project of its own, on a free port of 127.0.0.1, so tests
 * never touch a user's lab. Its containers, network and volumes go at stop(), and at exit if
 * the test run dies first.
 */
export class TestLab {
  project = `kubelab-e2e-${process.pid}`;
  /** The host ports of the three API servers. */
  ports: number[] = [];
  /** Their HTTP API's host ports (Kubernetes' JSON API, for kubectl). */
  httpPorts: number[] = [];
  /** Host port where node-1's NodePort range (30000-30049) starts: base + (nodePort - 30000). */
  nodePortBase = 0;
  /** The addresses (on the host's loopback) this lab's LoadBalancer Services get. */
  loadBalancerIpRange = "";
  private stopped = false;
  /** What compose takes from the environment for this lab (its ports, the settings asked for). */
  private composeEnv: Record<string, string> = {};

  /** Every API server of the lab, as a client's address list. */
  get server(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(",");
  }

  /** Extra environment for compose (settings the compose file takes from the environment). */
  constructor(
    private readonly env: Record<string, string> = {},
    /** Whether this is the run's shared lab (see shared()). */
    private readonly isShared = false,
  ) {}

  /**
   * The run's shared lab, for test files that neither break the lab nor need settings of their
   * own: started by the first file that asks, reused by the next ones (each in a namespace of its
   * own, removed at stop()), removed when the run ends. Outside a run with the global setup (a
   * file run alone by a tool without it), a lab of its own.
   */
  static shared(): TestLab {
    return new TestLab(SHARED_LAB_ENV, Boolean(process.env[SHARED_LAB_STATE_ENV]));
  }

  async start(): Promise<void> {
    if (this.isShared) {
      const stateFile = process.env[SHARED_LAB_STATE_ENV]!;
      if (existsSync(stateFile)) {
        const state = JSON.parse(readFileSync(stateFile, "utf8")) as SharedLabState;
        Object.assign(this, { project: state.project, ports: state.ports, httpPorts: state.httpPorts });
        this.nodePortBase = state.nodePortBase;
        this.composeEnv = state.composeEnv;
        this.loadBalancerIpRange = state.composeEnv.KUBELAB_LOAD_BALANCER_IP_RANGE ?? "";
        await tools.waitHealthy(this.project);
        return;
      }
      this.project = `kubelab-e2e-${/(\d+)\.json$/.exec(process.env[SHARED_LAB_STATE_ENV]!)![1]}-shared`;
    }
    await this.startOwn();
    if (this.isShared) {
      const state: SharedLabState = {
        project: this.project,
        ports: this.ports,
        httpPorts: this.httpPorts,
        nodePortBase: this.nodePortBase,
        composeEnv: this.composeEnv,
      };
      writeFileSync(process.env[SHARED_LAB_STATE_ENV]!, JSON.stringify(state));
    }
  }

  private async startOwn(): Promise<void> {
    // The shared lab outlives this file's process: the global setup's teardown removes it.
    const exitHandler = () => (this.isShared ? undefined : this.stop());
    process.once("exit", exitHandler);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        this.stop();
        process.exit(1);
      });
    }
    this.ports = [await freePort(), await freePort(), await freePort()];
    this.httpPorts = [await freePort(), await freePort(), await freePort()];
    await this.removeStaleLabs();
    tools.teardown(this.project);
    buildImages();
    this.nodePortBase = await freePortRange(50);
    const nodePorts = `${this.nodePortBase}-${this.nodePortBase + 49}`;
    const podNetworkMetrics = String(await freePort());
    const cloud = tools.cloudControllerManagerEnv([await freePort(), await freePort()]);
    this.loadBalancerIpRange = cloud.KUBELAB_LOAD_BALANCER_IP_RANGE!;
    this.composeEnv = {
      ...this.env,
      ...Object.fromEntries(tools.API_PORT_VARS.map((v, i) => [v, String(this.ports[i])])),
      ...Object.fromEntries(tools.HTTP_PORT_VARS.map((v, i) => [v, String(this.httpPorts[i])])),
      KUBELAB_NODE_PORTS: nodePorts,
      KUBELAB_POD_NETWORK_METRICS_PORT: podNetworkMetrics,
      ...cloud,
    };
    tools.composeRun(this.project, ["up", "-d"], { quiet: true, env: this.composeEnv });
    await tools.waitHealthy(this.project);
  }

  /**
   * Labs of earlier test runs whose process is gone (killed, or the machine stopped mid-run):
   * their containers restart with the Docker daemon and would load this run's machine.
   */
  private async removeStaleLabs(): Promise<void> {
    const out = await this.docker(
      "ps",
      "-a",
      "--filter",
      "label=io.kubelab.lab=true",
      "--format",
      '{{.Label "com.docker.compose.project"}}',
    );
    for (const project of new Set(out.split("\n"))) {
      const pid = Number(/^kubelab-e2e-(\d+)(-shared)?$/.exec(project)?.[1]);
      if (pid && pid !== process.pid && !isAlive(pid)) tools.teardown(project);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.isShared) {
      // What this file made goes with its namespaces, so the next file finds the lab as it was.
      const bin = path.join(tools.root, "cli/bin/kubelab.js");
      const namespaces = spawnSync(process.execPath, [bin, "--server", this.server, "get", "namespaces", "-o", "name"], {
        encoding: "utf8",
        timeout: 30_000,
      }).stdout;
      const own = namespaces
        .split("\n")
        .map((n) => n.trim().replace(/^namespaces?\//, ""))
        .filter((n) => n && !["default", "kube-system", "kube-public", "kube-node-lease"].includes(n));
      if (own.length) spawnSync(process.execPath, [bin, "--server", this.server, "delete", "namespace", ...own], { timeout: 60_000 });
      return;
    }
    tools.teardown(this.project);
  }

  /** The host address (on 127.0.0.1) of a NodePort of the lab. */
  nodePortUrl(nodePort: number, path = "/"): string {
    return `http://127.0.0.1:${this.nodePortBase + nodePort - 30000}${path}`;
  }

  container(service: string): string {
    return tools.containerOf(this.project, service);
  }

  /**
   * The container of the copy that holds a leader election's Lease in kube-system
   * ("kube-scheduler", "kube-controller-manager"): its holderIdentity is `<hostname>_<uuid>`, and
   * a container's hostname is its short id (returned as docker ps gives ids).
   */
  async leaderContainer(lease: string): Promise<string> {
    const r = await this.kubelab(["get", "lease", lease, "-n", "kube-system", "-o", "json"]);
    const holder = (JSON.parse(r.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? "";
    const id = holder.split("_")[0];
    if (!id) throw new Error(`no holder of ${lease}: ${r.stdout}${r.stderr}`);
    return (await this.docker("inspect", "--format", "{{.Id}}", id)).trim().slice(0, 12);
  }

  /** Waits until every service of the lab passes its healthcheck. */
  waitHealthy(): Promise<void> {
    return tools.waitHealthy(this.project);
  }

  /**
   * Compose as a user runs it by hand: `docker-compose ARGS` (or `docker compose`) in the
   * repository's root, on the compose.yaml and .env found there, with no -f; the project is this
   * lab's (COMPOSE_PROJECT_NAME set in the environment wins over .env's), never the user's.
   */
  async composeByHand(
    args: string[],
    env: Record<string, string | undefined> = {},
  ): Promise<{ stdout: string; stderr: string; code: number }> {
    const [cmd, ...pre] = tools.compose();
    const fullEnv = { ...process.env, ...this.composeEnv, COMPOSE_PROJECT_NAME: this.project, ...env };
    return new Promise((resolve) => {
      execFile(cmd!, [...pre, ...args], { cwd: tools.root, env: fullEnv, timeout: 180_000 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
    });
  }

  async docker(...args: string[]): Promise<string> {
    return (await exec("docker", args)).stdout;
  }

  /** This lab's kubeconfig (as npm run lab writes one), in a file of `dir`. */
  writeKubeconfig(dir: string): string {
    const file = path.join(dir, "kubeconfig");
    writeFileSync(file, tools.kubeconfigYaml(this.httpPorts));
    return file;
  }

  /** Runs the CLI against this lab: stdout, stderr and the exit code. */
  async kubelab(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
    const bin = path.join(tools.root, "cli/bin/kubelab.js");
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [bin, "--server", this.server, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
