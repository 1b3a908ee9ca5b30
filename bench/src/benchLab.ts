import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ApiClient } from "@kubelab/client";
import { freePort, freePortRange } from "@kubelab/testkit";
// @ts-expect-error plain ESM shared with scripts/lab.mjs, no type declarations
import * as labTools from "../../scripts/labTools.mjs";

export const exec = promisify(execFile);

interface LabTools {
  buildAll(log?: (m: string) => void, opts?: { workspace?: boolean }): void;
  composeRun(project: string, args: string[], opts?: { quiet?: boolean; env?: Record<string, string> }): void;
  waitHealthy(project: string): Promise<void>;
  teardown(project: string): void;
  containerOf(project: string, service: string): string;
  API_PORT_VARS: string[];
  HTTP_PORT_VARS: string[];
  cloudControllerManagerEnv(metricsPorts: number[]): Record<string, string>;
}
const tools = labTools as unknown as LabTools;

/** The composed lab under a project of its own, for a benchmark; removed by stop(), with any `docker run` references labelled io.kubelab.bench. */
export class BenchLab {
  readonly project = `kubelab-bench-${process.pid}`;
  client!: ApiClient;
  /** The addresses (on the host's loopback) this lab's LoadBalancer Services get. */
  loadBalancerIpRange = "";

  get podNetwork(): string {
    return `${this.project.replace(/[^a-z0-9_-]/g, "")}_pods`;
  }

  async start(env: Record<string, string> = {}): Promise<void> {
    const ports = [await freePort(), await freePort(), await freePort()];
    const httpPorts = [await freePort(), await freePort(), await freePort()];
    const nodePorts = await freePortRange(50);
    tools.buildAll(() => {}, { workspace: false });
    const podNetworkMetrics = String(await freePort());
    const cloud = tools.cloudControllerManagerEnv([await freePort(), await freePort()]);
    this.loadBalancerIpRange = cloud.KUBELAB_LOAD_BALANCER_IP_RANGE!;
    tools.composeRun(this.project, ["up", "-d"], {
      quiet: true,
      env: {
        ...env,
        ...Object.fromEntries(tools.API_PORT_VARS.map((v, i) => [v, String(ports[i])])),
        ...Object.fromEntries(tools.HTTP_PORT_VARS.map((v, i) => [v, String(httpPorts[i])])),
        KUBELAB_NODE_PORTS: `${nodePorts}-${nodePorts + 49}`,
        KUBELAB_POD_NETWORK_METRICS_PORT: podNetworkMetrics,
        ...cloud,
      },
    });
    this.client = new ApiClient(ports.map((p) => `127.0.0.1:${p}`).join(","), { timeoutMs: 60_000 });
    await tools.waitHealthy(this.project);
    for (let i = 0; ; i++) {
      const nodes = (await this.client.list("nodes")).items as Array<{ status?: { conditions: Array<{ type: string; status: string }> } }>;
      if (nodes.filter((n) => n.status?.conditions.some((c) => c.type === "Ready" && c.status === "True")).length === 3) break;
      if (i > 120) throw new Error("nodes not Ready");
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  container(service: string): string {
    return tools.containerOf(this.project, service);
  }

  /** `docker run -d` of an image on the lab's pod network, labelled for cleanup; resolves when started. */
  async dockerRun(name: string, image: string, network: string | undefined = this.podNetwork): Promise<void> {
    await exec("docker", [
      "run",
      "-d",
      "--label",
      "io.kubelab.lab=true",
      "--label",
      "io.kubelab.bench=run",
      "--name",
      `${this.project}-${name}`,
      ...(network ? ["--network", network] : []),
      image,
    ]);
  }

  /** Removes every `docker run` reference container (labelled io.kubelab.bench=run). */
  async removeRuns(): Promise<void> {
    await exec("sh", ["-c", "docker rm -f $(docker ps -aq --filter label=io.kubelab.bench=run) >/dev/null 2>&1 || true"]);
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.removeRuns().catch(() => undefined);
    tools.teardown(this.project);
  }
}
