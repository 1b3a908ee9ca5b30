import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
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

/** Builds the lab's images (from the built workspace), as a lab's start does. */
export function buildImages(): void {
  tools.buildAll(() => {}, { workspace: false });
}

/**
 * The composed lab under a compose project of its own, on a free port of 127.0.0.1, so tests
 * never touch a user's lab. Its containers, network and volumes go at stop(), and at exit if
 * the test run dies first.
 */
export class TestLab {
  readonly project = `kubelab-e2e-${process.pid}`;
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
  constructor(private readonly env: Record<string, string> = {}) {}

  async start(): Promise<void> {
    const exitHandler = () => this.stop();
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
    tools.buildAll(() => {}, { workspace: false });
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
      const pid = Number(/^kubelab-e2e-(\d+)$/.exec(project)?.[1]);
      if (pid && pid !== process.pid && !isAlive(pid)) tools.teardown(project);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
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
